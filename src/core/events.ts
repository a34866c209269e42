/**
 * @module core/events
 * The event every domain publishes on the bus: a plain, versioned object. `kind` is dotted
 * (`auth.login.failed`), and the bus subject is `vigil.<kind>`. Optional parts describe who and
 * what the event is about; `patientRef` is a keyed hash, never a raw identifier.
 */
import { z } from 'zod';
import { newId } from './ids.js';

export const EVENT_VERSION = 1;

/** What an event kind looks like: dotted lower-case words. */
export const KIND_PATTERN = /^[a-z0-9][a-z0-9_-]*(\.[a-z0-9][a-z0-9_-]*)+$/;

export const eventSchema = z
  .object({
    v: z.literal(EVENT_VERSION),
    id: z.string().min(1).max(64),
    time: z.string().datetime({ offset: true }),
    kind: z
      .string()
      .regex(KIND_PATTERN, 'kind must be dotted lower-case words, e.g. auth.login.failed')
      .max(128),
    source: z.string().min(1).max(128),
    severity: z.enum(['info', 'low', 'medium', 'high', 'critical']).optional(),
    user: z
      .object({ id: z.string().optional(), name: z.string().optional(), role: z.string().optional() })
      .optional(),
    device: z
      .object({ id: z.string().optional(), mac: z.string().optional(), ip: z.string().optional() })
      .optional(),
    net: z
      .object({
        srcIp: z.string().optional(),
        srcPort: z.number().int().optional(),
        dstIp: z.string().optional(),
        dstPort: z.number().int().optional(),
        proto: z.string().optional(),
      })
      .optional(),
    patientRef: z.string().optional(),
    data: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export type VigilEvent = z.infer<typeof eventSchema>;

export type EventInput = Omit<VigilEvent, 'v' | 'id' | 'time'> & { id?: string; time?: Date | string };

/** Builds a valid event with a fresh id and the given (or current) time. */
export function makeEvent(input: EventInput, now: Date = new Date()): VigilEvent {
  const { time, id, ...rest } = input;
  const t = time === undefined ? now : new Date(time);
  return { v: EVENT_VERSION, id: id ?? newId(t.getTime()), time: t.toISOString(), ...rest };
}

/** The bus subject of an event kind. */
export function subjectOf(kind: string): string {
  return `vigil.${kind}`;
}
