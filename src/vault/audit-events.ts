/**
 * @module vault/audit-events
 * The audit trail read as FHIR AuditEvent (read-only, generated; `AuditEvent/<seq>`), for privacy
 * officers. Search: `_id`, `patient` (hashed with the patient-ref key, so it finds entries of
 * erased patients too), `agent` (the user or token id), `date` (all comparators, in SQL on the
 * entry time), `action` (C R U D E), `_count`, newest first with a cursor. Reading the trail is
 * itself audited.
 */
import type { Kysely } from 'kysely';
import { VigilError } from '../core/index.js';
import { type AuditAction, type AuditEntry, entryOfRow } from './audit-entry.js';
import { parseDateSearch } from './date-range.js';
import type { FhirResource } from './fhir-types.js';
import { encodeCursor, parseCount, unsupported } from './search.js';
import type { VaultTables } from './tables.js';

const ACTION_CODE: Record<AuditAction, 'C' | 'R' | 'U' | 'D' | 'E'> = {
  create: 'C',
  read: 'R',
  vread: 'R',
  search: 'E',
  update: 'U',
  delete: 'D',
  erase: 'D',
  export: 'E',
  denied: 'E',
  'break-glass': 'E',
};

const OUTCOME_CODE = { success: '0', failure: '8', denied: '4' } as const;

/** The AuditEvent view of one entry. */
export function auditEventOf(e: AuditEntry): FhirResource {
  return {
    resourceType: 'AuditEvent',
    id: String(e.seq),
    meta: { versionId: '1', lastUpdated: e.time },
    type: {
      system: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
      code: 'rest',
      display: 'RESTful Operation',
    },
    subtype: [{ system: 'urn:vigil:audit-action', code: e.action }],
    action: ACTION_CODE[e.action],
    recorded: e.time,
    outcome: OUTCOME_CODE[e.outcome],
    ...(e.breakGlass
      ? {
          purposeOfEvent: [
            {
              coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'ETREAT' }],
              text: e.breakGlass.reason,
            },
          ],
        }
      : {}),
    agent: [
      {
        who: { identifier: { system: 'urn:vigil:user', value: e.actor.id } },
        role: [{ text: e.actor.role }],
        requestor: true,
      },
    ],
    source: { observer: { display: 'Vigil vault' } },
    entity: [
      ...e.resources.map((r) => ({ what: { reference: r } })),
      ...(e.patientRef
        ? [
            {
              what: { identifier: { system: 'urn:vigil:patient-ref', value: e.patientRef } },
              role: { code: '1' },
            },
          ]
        : []),
      ...(e.searchResultIds ?? []).map((r) => ({ what: { reference: r }, description: 'search result' })),
    ],
    extension: [
      { url: 'urn:vigil:audit-hash', valueString: e.hash },
      { url: 'urn:vigil:audit-prev-hash', valueString: e.prevHash },
    ],
  };
}

/** One AuditEvent by seq; NOT_FOUND when absent. */
export async function readAuditEvent(db: Kysely<VaultTables>, id: string): Promise<FhirResource> {
  if (!/^[1-9]\d{0,15}$/.test(id))
    throw new VigilError('NOT_FOUND', `AuditEvent/${id.slice(0, 20)} does not exist`);
  const row = await db.selectFrom('vault_audit').selectAll().where('seq', '=', Number(id)).executeTakeFirst();
  if (!row) throw new VigilError('NOT_FOUND', `AuditEvent/${id} does not exist`);
  return auditEventOf(entryOfRow(row));
}

const ACTIONS_OF: Record<string, AuditAction[]> = {
  C: ['create'],
  R: ['read', 'vread'],
  U: ['update'],
  D: ['delete', 'erase'],
  E: ['search', 'export', 'denied', 'break-glass'],
};

/** A page of AuditEvents, newest first. */
export async function searchAuditEvents(
  db: Kysely<VaultTables>,
  params: ReadonlyArray<readonly [string, string]>,
  patientRef: (patientId: string) => string,
): Promise<{ resources: FhirResource[]; next: string | null; self: Array<[string, string]> }> {
  let q = db.selectFrom('vault_audit').selectAll();
  let count = 20;
  const self: Array<[string, string]> = [];
  for (const [name, value] of params) {
    if (name !== '_cursor') self.push([name, value]);
    switch (name) {
      case '_count':
        count = parseCount(value);
        break;
      case '_cursor': {
        let before: number;
        try {
          before = (JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as { o?: unknown })
            .o as number;
        } catch {
          throw unsupported('_cursor', 'is not a cursor this server issued');
        }
        if (!Number.isInteger(before)) throw unsupported('_cursor', 'is not a cursor this server issued');
        q = q.where('seq', '<', before);
        break;
      }
      case '_id':
        q = q.where(
          'seq',
          'in',
          value
            .split(',')
            .filter((v) => /^\d{1,15}$/.test(v))
            .map(Number)
            .concat([-1]),
        );
        break;
      case 'patient': {
        const id = value.replace(/^Patient\//, '');
        if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id)) throw unsupported('patient', 'must be Patient/<id>');
        q = q.where('patient_ref', '=', patientRef(id));
        break;
      }
      case 'agent':
        q = q.where('actor_id', '=', value.replace(/^[A-Za-z]+\//, ''));
        break;
      case 'action': {
        const actions = value.split(',').flatMap((a) => ACTIONS_OF[a] ?? []);
        if (!actions.length) throw unsupported('action', 'must be C, R, U, D or E');
        q = q.where('action', 'in', actions);
        break;
      }
      case 'date': {
        const { op, range } = parseDateSearch('date', value);
        const s = new Date(range.start).toISOString();
        const e = new Date(range.end).toISOString();
        if (op === 'eq') q = q.where('time', '>=', s).where('time', '<', e);
        else if (op === 'gt') q = q.where('time', '>=', e);
        else if (op === 'ge') q = q.where('time', '>=', s);
        else if (op === 'lt') q = q.where('time', '<', s);
        else if (op === 'le') q = q.where('time', '<', e);
        else throw unsupported('date', 'with ne is not supported');
        break;
      }
      default:
        throw unsupported(name, 'is not supported on AuditEvent');
    }
  }
  const rows = await q
    .orderBy('seq', 'desc')
    .limit(count + 1)
    .execute();
  const entries = rows.slice(0, count).map(entryOfRow);
  const next = rows.length > count && entries.length ? encodeCursor({ offset: entries.at(-1)!.seq }) : null;
  return { resources: entries.map(auditEventOf), next, self };
}
