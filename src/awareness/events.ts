/**
 * @module awareness/events
 * The awareness events other domains listen to (detection, the activity log, the gateway). Kinds
 * are constants so a subscriber and this domain never disagree on a spelling.
 */
import { type EventInput, makeEvent } from '../core/index.js';
import type { Bus } from '../platform/bus/index.js';

/** Event kinds published by training, phishing simulation and risk. */
export const AWARENESS_EVENTS = {
  assigned: 'awareness.training.assigned',
  completed: 'awareness.training.completed',
  sent: 'awareness.phishing.sent',
  sendFailed: 'awareness.phishing.send-failed',
  opened: 'awareness.phishing.opened',
  clicked: 'awareness.phishing.clicked',
  submitted: 'awareness.phishing.submitted',
  reported: 'awareness.phishing.reported',
  riskChanged: 'awareness.risk.changed',
} as const;

/** Publishes awareness events in batches of 500 (a campaign to thousands makes thousands). */
export async function publishAll(
  bus: Bus,
  inputs: Array<Omit<EventInput, 'source'>>,
  now: Date,
): Promise<void> {
  const events = inputs.map((i) => makeEvent({ source: 'awareness', ...i }, now));
  for (let i = 0; i < events.length; i += 500) await bus.publish(events.slice(i, i + 500));
}
