/**
 * The detector's fast paths on Vigil events, checked through what it raises: the enrichment's
 * object is reused while the enricher adds nothing to it (no field may leak from one event to the
 * next, and an enrichment that shadows `kind` is read as such), and a batch is put in time order
 * whatever form its times take.
 */
import { describe, expect, it } from 'vitest';
import type { VigilEvent } from '../../src/core/index.js';
import type { AlertStore, EventEnricher, SigmaEvent } from '../../src/detect/index.js';
import { Detector } from '../../src/detect/index.js';
import type { Bus } from '../../src/platform/bus/index.js';

const rule = (id: string, detection: string) => ({
  file: `${id}.yml`,
  text: `title: ${id}\nid: ${id}\nlogsource:\n  product: vigil\ndetection:\n${detection}`,
});

const RULES = [
  rule('tagged', '  sel:\n    kind: test.event\n    tag: x\n  condition: sel\n'),
  rule('untagged', '  sel:\n    kind: test.event\n    tag|exists: false\n  condition: sel\n'),
  rule('shadowed', '  sel:\n    kind: test.shadow\n  condition: sel\n'),
];

/** Tags the events that say so; renames the kind of those asking for it. */
const enricher: EventEnricher = {
  prepare: async () => {},
  enrich(event: SigmaEvent, into: SigmaEvent = event) {
    if (event.mark === true) into.tag = 'x';
    if (event.shadow === true) into.kind = 'test.shadow';
  },
};

function detector(): Detector {
  return new Detector([RULES], {
    alerts: {} as AlertStore,
    bus: {} as Bus,
    clock: { now: () => new Date(0) },
    enricher,
  });
}

let n = 0;
/** An event; `own` holds keys of the event itself (what the enricher reads). */
function event(time: string, own: Record<string, unknown>): VigilEvent {
  const e = { v: 1, id: `e${n++}`, time, kind: 'test.event', source: 'test', severity: 'info', data: {} };
  return { ...e, ...own } as VigilEvent;
}

describe('detector on layered Vigil events', () => {
  it('reads each event with its own enrichment only', () => {
    const marks = [true, false, false, true, true, false, true, false];
    const events = marks.map((mark, i) => event(`2026-06-02T10:00:0${i}.000Z`, { mark }));
    const alerts = detector().detect(events);
    expect(alerts.map((a) => [a.eventIds[0], a.ruleId])).toEqual(
      events.map((e, i) => [e.id, marks[i] ? 'tagged' : 'untagged']),
    );
  });

  it('reads the kind the enrichment gives', () => {
    const events = [
      event('2026-06-02T10:00:00.000Z', { shadow: true }),
      event('2026-06-02T10:00:01.000Z', {}),
    ];
    expect(
      detector()
        .detect(events)
        .map((a) => a.ruleId),
    ).toEqual(['shadowed', 'untagged']);
  });

  it('puts a batch in time order, whatever the form of its times', () => {
    const times = [
      '2026-06-02T10:00:03.000Z',
      '2026-06-02T10:00:01Z',
      '2026-06-02T10:00:02.000Z',
      '2026-06-02T10:00:00.500+00:00',
      '２026-06-02T10:00:04.000Z', // not ASCII digits: compared by the collator
    ];
    const events = times.map((t) => event(t, {}));
    const order = detector()
      .detect(events)
      .map((a) => a.time);
    expect(order).toEqual([...times].sort((a, b) => a.localeCompare(b)));
    // Already in order: kept as it is.
    const sorted = [...times].sort((a, b) => a.localeCompare(b)).map((t) => event(t, {}));
    expect(
      detector()
        .detect(sorted)
        .map((a) => a.time),
    ).toEqual(sorted.map((e) => e.time));
  });
});
