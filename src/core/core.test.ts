import { describe, expect, it } from 'vitest';
import { ERROR_CODES, VigilError } from './errors.js';
import { eventSchema, makeEvent, subjectOf } from './events.js';
import { newId, randomToken, UUID_RE } from './ids.js';
import { seededRng } from './random.js';
import { isRole, roleRequiresMfa } from './roles.js';

describe('events', () => {
  it('makes valid, versioned events with time-ordered ids', () => {
    const a = makeEvent(
      { kind: 'auth.login.failed', source: 'identity', user: { name: 'x' } },
      new Date('2026-01-01T00:00:00Z'),
    );
    const b = makeEvent({ kind: 'auth.login.failed', source: 'identity' }, new Date('2026-01-01T00:00:01Z'));
    expect(eventSchema.parse(a)).toEqual(a);
    expect(a).toMatchObject({ v: 1, time: '2026-01-01T00:00:00.000Z' });
    expect(a.id < b.id).toBe(true);
    expect(subjectOf(a.kind)).toBe('vigil.auth.login.failed');
  });

  it('rejects malformed events: bad kind, unknown field, wrong version', () => {
    const good = makeEvent({ kind: 'user.created', source: 't' });
    expect(eventSchema.safeParse({ ...good, kind: 'NoDots' }).success).toBe(false);
    expect(eventSchema.safeParse({ ...good, kind: 'a.b; drop' }).success).toBe(false);
    expect(eventSchema.safeParse({ ...good, password: 'x' }).success).toBe(false);
    expect(eventSchema.safeParse({ ...good, v: 2 }).success).toBe(false);
    expect(eventSchema.safeParse({ ...good, time: 'yesterday' }).success).toBe(false);
  });
});

describe('errors, ids, roles, random', () => {
  it('carries code, status and a safe message', () => {
    const e = new VigilError('ACCOUNT_LOCKED', 'locked', { details: { retryAfterSeconds: 60 } });
    expect(e).toMatchObject({
      code: 'ACCOUNT_LOCKED',
      status: 423,
      message: 'locked',
      details: { retryAfterSeconds: 60 },
    });
    for (const { status } of Object.values(ERROR_CODES)) expect(status).toBeGreaterThanOrEqual(400);
  });

  it('makes ids that increase strictly within one millisecond, and keeps the time of a past moment', () => {
    const now = Date.now();
    const ids = Array.from({ length: 5000 }, () => newId(now));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    const past = newId(Date.parse('2018-03-24T17:15:20.000Z'));
    expect(Number.parseInt(past.replace(/-/g, '').slice(0, 12), 16)).toBe(
      Date.parse('2018-03-24T17:15:20.000Z'),
    );
  });

  it('makes UUIDv7 ids and unguessable tokens', () => {
    const id = newId();
    expect(id).toMatch(UUID_RE);
    expect(id[14]).toBe('7');
    expect(randomToken(32)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set(Array.from({ length: 1000 }, () => randomToken(16))).size).toBe(1000);
  });

  it('knows roles and which require MFA', () => {
    expect(isRole('privacy-officer')).toBe(true);
    expect(isRole('root')).toBe(false);
    expect(roleRequiresMfa('analyst')).toBe(true);
    expect(roleRequiresMfa('clinician')).toBe(false);
  });

  it('repeats a seeded sequence', () => {
    const a = seededRng(7);
    const b = seededRng(7);
    const xs = Array.from({ length: 5 }, () => a.int(100));
    expect(Array.from({ length: 5 }, () => b.int(100))).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 100)).toBe(true);
  });
});
