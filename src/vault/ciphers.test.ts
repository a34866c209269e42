import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { linkHash } from './audit-entry.js';
import { canonicalJson } from './canonical-json.js';
import { LruCache } from './lru.js';
import { foldName, normalise } from './normalise.js';
import { openResource, sealResource } from './resource-cipher.js';

describe('resource cipher', () => {
  const key = randomBytes(32);
  const ref = { resourceType: 'Observation', id: 'o1', versionId: '2' };
  it('round-trips and binds type, id and version', () => {
    const sealed = sealResource(key, ref, Buffer.from('{"a":1}'));
    expect(sealed).toMatch(/^r1\./);
    expect(openResource(key, ref, sealed).toString()).toBe('{"a":1}');
    for (const other of [
      { ...ref, versionId: '1' },
      { ...ref, id: 'o2' },
      { ...ref, resourceType: 'Condition' },
    ]) {
      expect(() => openResource(key, other, sealed)).toThrow(/failed authentication/);
    }
    expect(() => openResource(randomBytes(32), ref, sealed)).toThrow(/failed authentication/);
    expect(() => openResource(key, ref, 'r1.AAAA')).toThrow(/truncated/);
    expect(() => openResource(key, ref, 'xx')).toThrow(/unknown format/);
    expect(() => sealResource(key, { ...ref, id: 'a|b' }, Buffer.alloc(0))).toThrow(/Invalid resource id/);
  });
});

describe('LRU cache', () => {
  it('is bounded, refreshes on get, ages out and wipes evicted values', () => {
    let now = 0;
    const evicted: string[] = [];
    const lru = new LruCache<string, string>({ maxEntries: 2, maxAgeMs: 100, now: () => now }, (v) =>
      evicted.push(v),
    );
    lru.set('a', 'A');
    lru.set('b', 'B');
    expect(lru.get('a')).toBe('A');
    lru.set('c', 'C');
    expect(lru.get('b')).toBeUndefined();
    expect(evicted).toEqual(['B']);
    expect(lru.size).toBe(2);
    now = 150;
    expect(lru.get('a')).toBeUndefined();
    lru.clear();
    expect(lru.size).toBe(0);
    expect(() => new LruCache({ maxEntries: 0 })).toThrow();
  });
});

describe('normalise', () => {
  it('folds names', () => {
    expect(foldName('  Ångström-Müller,  JOSÉ ')).toBe('angstrom-muller jose');
    expect(foldName('Straße')).toBe('strasse');
    expect(foldName('ＪＯＳＥ')).toBe('jose');
    expect(normalise.name.index('Mary Ann Mary')).toEqual(['n:mary', 'n:ann', 'n:mary ann mary']);
  });
  it('makes date prefix tokens and refuses comparators', () => {
    expect(normalise.date.index('1970-03-15T23:30:00-05:00')).toEqual([
      'd:1970',
      'd:1970-03',
      'd:1970-03-15',
    ]);
    expect(normalise.date.index('1970')).toEqual(['d:1970']);
    expect(normalise.date.query('eq1970-03')).toBe('d:1970-03');
    expect(() => normalise.date.query('ge1970')).toThrow(/comparators/);
    expect(() => normalise.date.index('1970-02-30x')).toThrow();
  });
  it('splits system|code and references', () => {
    expect(normalise.token.index({ system: 'http://loinc.org', code: '2339-0' })).toEqual([
      't:http://loinc.org|2339-0',
      't:|2339-0',
    ]);
    expect(normalise.token.query('2339-0')).toBe('t:|2339-0');
    expect(normalise.identifier.query('urn:x|a|b')).toBe('i:urn:x|a|b');
    expect(() => normalise.token.query('http://loinc.org|')).toThrow();
    expect(normalise.reference.query('http://x/fhir/Patient/1/_history/2')).toBe('r:Patient/1');
    expect(normalise.reference.query('1', 'Patient')).toBe('r:Patient/1');
    expect(() => normalise.reference.query('1')).toThrow();
  });
});

describe('canonical JSON and link hashes', () => {
  it('sorts keys, drops undefined, and is stable', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], c: undefined, d: { z: 1, y: 2 } })).toBe(
      '{"a":[true,null,"x"],"b":1,"d":{"y":2,"z":1}}',
    );
    expect(() => canonicalJson(Number.NaN)).toThrow();
  });
  it('changes with any field, the seq and the previous hash', () => {
    const content = {
      seq: 1,
      time: 't',
      actor: { id: 'u', role: 'clinician' },
      action: 'read' as const,
      resources: ['Patient/1'],
      patientRef: null,
      outcome: 'success' as const,
      breakGlass: null,
      searchResultIds: null,
    };
    const h = linkHash(content, '0'.repeat(64));
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(linkHash({ ...content, seq: 2 }, '0'.repeat(64))).not.toBe(h);
    expect(linkHash({ ...content, outcome: 'denied' }, '0'.repeat(64))).not.toBe(h);
    expect(linkHash(content, '1'.repeat(64))).not.toBe(h);
    expect(linkHash({ ...content }, '0'.repeat(64))).toBe(h);
  });
});
