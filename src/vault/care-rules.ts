/**
 * @module vault/care-rules
 * The clinical rules behind care-based access, on decrypted resources. Pure.
 *
 * - An Encounter gives its participants a care relationship with its subject while it is open
 *   (status arrived, triaged, in-progress or onleave) and when its period touches the window
 *   (default: the last 30 days) — unless it was cancelled or entered in error.
 * - A CareTeam gives its members one while it is active (status active, or no status) and its
 *   period, if any, includes now.
 * - A Consent (status active) denies the actors named in any of its provisions of type `deny`
 *   whose period, if any, includes now. Actors match by reference (`Practitioner/<id>`,
 *   `PractitionerRole/<id>`, `Organization/<id>`) or by identifier (a conditional reference
 *   `Practitioner?identifier=system|value` or a logical `identifier`). A deny provision that names
 *   no actor is not read as "deny everyone": care teams would lose access to a patient in their
 *   care, which is not what such consents are written for in a hospital.
 */
import type { FhirResource } from './fhir-types.js';

/** The ways a staff member is named in FHIR: literal references and `system|value` identifiers. */
export interface ActorNames {
  /** `Practitioner/<id>`, `PractitionerRole/<id>`, `Organization/<id>`. */
  references: ReadonlySet<string>;
  /** `system|value` of the practitioner's identifiers (NPI and others). */
  identifiers: ReadonlySet<string>;
}

/** Encounter statuses that mean "the patient is in our care now". */
export const OPEN_ENCOUNTER_STATUSES = ['arrived', 'triaged', 'in-progress', 'onleave'] as const;
const VOID_STATUSES = new Set(['cancelled', 'entered-in-error']);

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : null);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

function instant(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  // A date without a time covers its whole day: its start for `start`, handled by callers.
  const t = Date.parse(/^\d{4}(-\d{2}){0,2}$/.test(value) ? `${value.padEnd(10, '-01')}T00:00:00Z` : value);
  return Number.isNaN(t) ? null : t;
}

function periodOf(value: unknown): { start: number | null; end: number | null } {
  const p = obj(value);
  if (!p) return { start: null, end: null };
  const start = instant(p.start);
  let end = instant(p.end);
  // A day-precision end lasts until the end of that day.
  if (end !== null && typeof p.end === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(p.end)) end += 86_400_000 - 1;
  return { start, end };
}

function covers(period: { start: number | null; end: number | null }, now: number): boolean {
  return (period.start === null || period.start <= now) && (period.end === null || now <= period.end);
}

/** Whether an Encounter gives its participants care of its subject at `now`. */
export function encounterGivesCare(encounter: FhirResource, now: number, windowMs: number): boolean {
  const status = typeof encounter.status === 'string' ? encounter.status : '';
  if (VOID_STATUSES.has(status)) return false;
  if ((OPEN_ENCOUNTER_STATUSES as readonly string[]).includes(status)) return true;
  const { start, end } = periodOf(encounter.period);
  const last = end ?? start;
  if (last === null) return false;
  const from = now - windowMs;
  return last >= from && (start === null || start <= now);
}

/** Whether a CareTeam gives its members care of its subject at `now`. */
export function careTeamGivesCare(team: FhirResource, now: number): boolean {
  const status = team.status;
  if (status !== undefined && status !== 'active') return false;
  return covers(periodOf(team.period), now);
}

/** The `system|value` an identifier object names, or null. */
function identifierKey(value: unknown): string | null {
  const id = obj(value);
  if (!id || typeof id.value !== 'string' || !id.value) return null;
  return `${typeof id.system === 'string' ? id.system : ''}|${id.value}`;
}

/** `system|value` of a conditional reference `Type?identifier=system|value`, or null. */
export function conditionalIdentifier(reference: unknown): string | null {
  if (typeof reference !== 'string') return null;
  const m = /^[A-Z][A-Za-z]{0,63}\?identifier=([^&]{1,512})$/.exec(reference);
  return m ? decodeURIComponent(m[1]!) : null;
}

/** Whether a Reference object names one of these actors. */
export function namesActor(reference: unknown, actor: ActorNames): boolean {
  const r = obj(reference);
  if (!r) return false;
  if (typeof r.reference === 'string') {
    const literal = /(?:^|\/)([A-Z][A-Za-z]{0,63}\/[A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(
      r.reference,
    );
    if (literal && actor.references.has(literal[1]!)) return true;
    const conditional = conditionalIdentifier(r.reference);
    if (conditional !== null && actor.identifiers.has(conditional)) return true;
  }
  const logical = identifierKey(r.identifier);
  return logical !== null && actor.identifiers.has(logical);
}

/** Whether an Encounter or CareTeam names the actor as a participant. */
export function participates(resource: FhirResource, actor: ActorNames): boolean {
  const path = resource.resourceType === 'CareTeam' ? 'member' : 'individual';
  return arr(resource.participant).some((p) => namesActor(obj(p)?.[path], actor));
}

/** Whether an active Consent denies this actor at `now`. */
export function consentDenies(consent: FhirResource, actor: ActorNames, now: number): boolean {
  if (consent.status !== 'active') return false;
  const visit = (provision: unknown, depth: number): boolean => {
    const p = obj(provision);
    if (!p || depth > 16) return false;
    if (
      p.type === 'deny' &&
      covers(periodOf(p.period), now) &&
      arr(p.actor).some((a) => namesActor(obj(a)?.reference, actor))
    )
      return true;
    return arr(p.provision).some((child) => visit(child, depth + 1));
  };
  return visit(consent.provision, 0);
}

/** The `system|value` of each identifier of a Practitioner. */
export function identifiersOf(resource: FhirResource): string[] {
  return arr(resource.identifier)
    .map(identifierKey)
    .filter((k): k is string => k !== null);
}
