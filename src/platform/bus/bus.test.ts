import { describe, expect, it } from 'vitest';
import { subjectMatches } from './bus.js';

describe('bus subjects', () => {
  it('matches NATS wildcards', () => {
    expect(subjectMatches('vigil.>', 'vigil.auth.login.failed')).toBe(true);
    expect(subjectMatches('vigil.auth.>', 'vigil.user.created')).toBe(false);
    expect(subjectMatches('vigil.*.created', 'vigil.user.created')).toBe(true);
    expect(subjectMatches('vigil.*', 'vigil.user.created')).toBe(false);
    expect(subjectMatches('vigil.>', 'vigil')).toBe(false);
  });
});
