/**
 * `followZeek` (the engine of `vigil sensor zeek --follow`) on real Zeek records written the way
 * Zeek writes them: lines appended in pieces, a malformed line, a log truncated under the reader,
 * a log rotated away and recreated, a new log and a gzip archive appearing in the directory, and a
 * clean stop that returns every file's counts.
 */
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { VigilEvent } from '../../src/core/index.js';
import { type FollowNote, followZeek } from '../../src/sensor/index.js';
import { DATA, skipReason } from './support.js';

const skip = skipReason();
if (skip) console.warn(`zeek-follow.test.ts ${skip}`);

function gunzipLines(file: string): string[] {
  return execFileSync('zcat', [file], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

async function until(what: string, ok: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.skipIf(skip !== null)('following Zeek logs', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'vigil-zeek-follow-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('reads appended lines, skips a malformed one, restarts after truncation, follows rotation and new files', {
    timeout: 60_000,
  }, async () => {
    const tsv = skip ? [] : gunzipLines(path.join(DATA, 'zeek/tsv/ssh.log.gz'));
    const header = tsv.filter((l) => l.startsWith('#') && !l.startsWith('#close'));
    const records = tsv.filter((l) => !l.startsWith('#'));
    const json = skip ? [] : gunzipLines(path.join(DATA, 'zeek/json/ssh.json.gz'));
    expect(records.length).toBeGreaterThan(8);
    const uidOf = (line: string) => line.split('\t')[1];

    const dir = path.join(root, 'current');
    const away = path.join(root, 'archive');
    mkdirSync(dir);
    mkdirSync(away);
    const log = path.join(dir, 'ssh.log');
    writeFileSync(log, `${[...header, records[0], records[1]].join('\n')}\n`);
    writeFileSync(path.join(dir, 'notes.txt'), 'not a log\n');

    const events: VigilEvent[] = [];
    const notes: FollowNote[] = [];
    const controller = new AbortController();
    const done = followZeek(dir, {
      signal: controller.signal,
      pollMs: 30,
      onEvents: async (batch) => {
        events.push(...batch);
      },
      onNote: (n) => notes.push(n),
    });
    const uids = () => events.map((e) => String((e.data as { uid?: string }).uid));

    // What was there at the start.
    await until('the first two records', () => events.length === 2);
    expect(uids()).toEqual([uidOf(records[0]!), uidOf(records[1]!)]);
    expect(events[0]).toMatchObject({ kind: 'zeek.ssh', source: 'zeek' });

    // A record appended in two writes: nothing until its newline arrives.
    const third = records[2]!;
    appendFileSync(log, third.slice(0, 40));
    await new Promise((r) => setTimeout(r, 150));
    expect(events).toHaveLength(2);
    appendFileSync(log, `${third.slice(40)}\n`);
    await until('the record written in two pieces', () => events.length === 3);
    expect(uids()[2]).toBe(uidOf(third));

    // A malformed line is skipped and counted; the next good one is read.
    appendFileSync(log, `this line\tis not\ta record\n${records[3]}\n`);
    await until('the record after the malformed line', () => events.length === 4);
    expect(uids()[3]).toBe(uidOf(records[3]!));

    // Truncated under the reader and rewritten shorter: read again from its start.
    writeFileSync(log, `${[...header, records[4]].join('\n')}\n`);
    await until('the record of the truncated log', () => events.length === 5);
    expect(uids()[4]).toBe(uidOf(records[4]!));
    expect(notes).toContainEqual({ file: log, what: 'truncated' });

    // Rotation: a last line lands in the old file, which is moved away and replaced at once.
    appendFileSync(log, `${records[5]}\n`);
    renameSync(log, path.join(away, 'ssh.old.log'));
    writeFileSync(log, `${[...header, records[6]].join('\n')}\n`);
    await until('the rotated and the new log', () => events.length === 7);
    expect(uids().slice(5).sort()).toEqual([uidOf(records[5]!), uidOf(records[6]!)].sort());
    expect(notes).toContainEqual({ file: log, what: 'rotated' });

    // A new log appears (JSON this time), then a gzip archive, read once when it has settled.
    writeFileSync(path.join(dir, 'ssh-json.json'), `${json.slice(0, 3).join('\n')}\n`);
    await until('the new JSON log', () => events.length === 10);
    copyFileSync(path.join(DATA, 'zeek/json/ssh.json.gz'), path.join(dir, 'ssh-old.json.gz'));
    await until('the archive', () => events.length === 10 + json.length);
    expect(notes).toContainEqual({ file: path.join(dir, 'ssh-old.json.gz'), what: 'read-archive' });

    // A line still being written when the follower stops is not a record (and is counted).
    appendFileSync(log, records[7]!.slice(0, 30));
    controller.abort();
    const stats = await done;
    expect(events).toHaveLength(10 + json.length);
    expect(stats.get(log)).toMatchObject({
      format: 'tsv',
      records: 7,
      skipped: { 'wrong-field-count': 1, 'incomplete-last-line': 1 },
    });
    expect(stats.get(path.join(dir, 'ssh-json.json'))).toMatchObject({
      format: 'json',
      records: 3,
      skipped: {},
    });
    expect(stats.get(path.join(dir, 'ssh-old.json.gz'))).toMatchObject({ records: json.length });
    expect([...stats.keys()].some((f) => f.endsWith('notes.txt'))).toBe(false);
  });

  it('follows a single file that disappears and comes back', { timeout: 30_000 }, async () => {
    const file = path.join(root, 'conn.json');
    const json = gunzipLines(path.join(DATA, 'zeek/json/ssh.json.gz'));
    writeFileSync(file, `${json[0]}\n`);
    const events: VigilEvent[] = [];
    const notes: FollowNote[] = [];
    const controller = new AbortController();
    const done = followZeek(file, {
      signal: controller.signal,
      pollMs: 30,
      onEvents: async (b) => {
        events.push(...b);
      },
      onNote: (n) => notes.push(n),
    });
    await until('the first record', () => events.length === 1);
    rmSync(file);
    await until('the file to be missed', () => notes.some((n) => n.what === 'gone'));
    writeFileSync(file, `${json[1]}\n{"broken json\n${json[2]}\n`);
    await until('the recreated file', () => events.length === 3);
    controller.abort();
    const stats = await done;
    expect(stats.get(file)).toMatchObject({ format: 'json', records: 3, skipped: { 'bad-json': 1 } });
  });

  it('notices a log truncated and rewritten longer between two polls', { timeout: 30_000 }, async () => {
    const file = path.join(root, 'rewritten.json');
    const json = gunzipLines(path.join(DATA, 'zeek/json/ssh.json.gz'));
    writeFileSync(file, `${json[0]}\n`);
    const events: VigilEvent[] = [];
    const notes: FollowNote[] = [];
    let release!: () => void;
    let hold: Promise<void> | null = new Promise<void>((r) => {
      release = r;
    });
    const controller = new AbortController();
    const done = followZeek(file, {
      signal: controller.signal,
      pollMs: 30,
      onEvents: async (b) => {
        events.push(...b);
        // The follower waits here after its first read, while the log is rewritten under it.
        const h = hold;
        hold = null;
        if (h) await h;
      },
      onNote: (n) => notes.push(n),
    });
    await until('the first record', () => events.length === 1);
    // Longer than before: its size alone does not tell that it was rewritten.
    writeFileSync(file, `${json[1]}\n${json[2]}\n`);
    release();
    await until('the rewritten records', () => events.length === 3);
    controller.abort();
    const stats = await done;
    expect(notes).toContainEqual({ file, what: 'truncated' });
    const uids = events.map((e) => (e.data as { uid?: string }).uid);
    expect(uids).toEqual(json.slice(0, 3).map((l) => (JSON.parse(l) as { uid: string }).uid));
    expect(stats.get(file)).toMatchObject({ records: 3, skipped: {} });
  });
});
