/**
 * @module vault/search-values
 * Which search parameters each stored type supports and where their values come from. Every
 * parameter is indexed as a blind index (blind-index.ts explains what each kind reveals):
 *
 * | type | parameter | kind | source |
 * |---|---|---|---|
 * | Patient | identifier | identifier | `identifier[].system|value` |
 * | Patient | name | name | every `name[]`: text, family, each given, prefix, suffix |
 * | Patient | family / given | name | `name[].family` / `name[].given[]` |
 * | Patient | birthdate | date | `birthDate` (year, month, day tokens) |
 * | Patient | gender | token | `gender` (system administrative-gender) |
 * | Encounter | patient, subject | reference | `subject` when it is `Patient/<id>` |
 * | Encounter | participant | reference | `participant[].individual` when it is `Type/<id>` |
| Encounter | participant-identifier | identifier | `participant[].individual` as `Type?identifier=sys|value` or a logical identifier |
 * | Encounter | date | date | `period.start` and `period.end` |
 * | Encounter | status | token | `status` (system encounter-status) |
 * | clinical types | patient, subject | reference | the patient reference (fhir-types.ts) |
 * | clinical types | date | date | the type's clinically relevant date (`DATE_PATHS`) |
 * | clinical types | code | token | the type's main CodeableConcept (`CODE_PATHS`) |
| CareTeam | participant, participant-identifier, status | as Encounter | `participant[].member`, `status` |
| Practitioner | identifier | identifier | `identifier[].system|value` (staff numbers such as the NPI) |
| PractitionerRole | practitioner, organization | reference | `practitioner`, `organization` |
 *
 * `subject` and `patient` name the same Patient reference in this vault (a subject that is not a
 * Patient is not indexed), so only `patient` is indexed and a `subject` search looks it up
 * (search.ts): one keyed hash fewer per clinical resource.
 *
 * Conditional references (`Practitioner?identifier=…`, as Synthea writes participants) name no
 * id: their identifier goes to `participant-identifier`, and a `participant=Practitioner/<id>`
 * search also finds them through that practitioner's identifiers (search.ts). The care policy
 * finds a clinician's Encounters and CareTeams the same way. Organization, Location and Binary
 * support `_id` and `_lastUpdated` only. Pure.
 */
import type { IndexEntry, SearchParamDef, SearchParamRegistry } from './blind-index.js';
import { conditionalIdentifier } from './care-rules.js';
import { type FhirResource, parseReference } from './fhir-types.js';

const patientRef: SearchParamDef = { kind: 'reference', target: 'Patient' };
const clinical: Record<string, SearchParamDef> = {
  patient: patientRef,
  subject: patientRef,
  date: { kind: 'date' },
  code: { kind: 'token' },
};

/** Where the `date` of each clinical type is (first present wins, all are indexed). */
const DATE_PATHS: Record<string, readonly string[]> = {
  Observation: ['effectiveDateTime', 'effectivePeriod.start', 'effectiveInstant', 'issued'],
  Condition: ['onsetDateTime', 'onsetPeriod.start', 'recordedDate'],
  Procedure: ['performedDateTime', 'performedPeriod.start'],
  MedicationRequest: ['authoredOn'],
  AllergyIntolerance: ['recordedDate'],
  Immunization: ['occurrenceDateTime'],
  DocumentReference: ['date'],
  Consent: ['dateTime'],
  CareTeam: ['period.start', 'period.end'],
  Encounter: ['period.start', 'period.end'],
  Device: [],
};

/** Where the `code` of each clinical type is. */
const CODE_PATHS: Record<string, string> = {
  Observation: 'code',
  Condition: 'code',
  Procedure: 'code',
  MedicationRequest: 'medicationCodeableConcept',
  AllergyIntolerance: 'code',
  Immunization: 'vaccineCode',
  DocumentReference: 'type',
  Consent: 'category',
  CareTeam: 'category',
  Device: 'type',
};

/** The search parameters of the vault, per type (no `*` fallback: an unlisted parameter is refused). */
export const VAULT_SEARCH_PARAMS: SearchParamRegistry = {
  Patient: {
    identifier: { kind: 'identifier' },
    name: { kind: 'name' },
    family: { kind: 'name' },
    given: { kind: 'name' },
    birthdate: { kind: 'date' },
    gender: { kind: 'token' },
  },
  Encounter: {
    patient: patientRef,
    subject: patientRef,
    participant: { kind: 'reference', target: 'Practitioner' },
    'participant-identifier': { kind: 'identifier' },
    date: { kind: 'date' },
    status: { kind: 'token' },
  },
  ...Object.fromEntries(Object.keys(CODE_PATHS).map((t) => [t, clinical])),
  CareTeam: {
    ...clinical,
    participant: { kind: 'reference', target: 'Practitioner' },
    'participant-identifier': { kind: 'identifier' },
    status: { kind: 'token' },
  },
  Practitioner: { identifier: { kind: 'identifier' } },
  PractitionerRole: {
    practitioner: { kind: 'reference', target: 'Practitioner' },
    organization: { kind: 'reference', target: 'Organization' },
  },
  // The other shared types and Binary: `_id` and `_lastUpdated` only. An empty map, not a
  // missing one, so BlindIndex's `*` fallback never applies.
  Organization: {},
  Location: {},
  Binary: {},
};

/** The names of a type's indexed parameters (for the CapabilityStatement). */
export function searchParamsOf(type: string): Record<string, SearchParamDef> {
  return VAULT_SEARCH_PARAMS[type] ?? {};
}

function at(resource: unknown, path: string): unknown[] {
  let values: unknown[] = Array.isArray(resource) ? resource : [resource];
  for (const key of path.split('.')) {
    const next: unknown[] = [];
    for (const v of values) {
      if (!v || typeof v !== 'object') continue;
      const child = (v as Record<string, unknown>)[key];
      if (Array.isArray(child)) next.push(...child);
      else if (child !== undefined && child !== null) next.push(child);
    }
    values = next;
  }
  return values;
}

const strings = (values: unknown[]): string[] =>
  values.filter((v): v is string => typeof v === 'string' && v.trim() !== '');

function codings(concepts: unknown[]): Array<{ system: string | null; code: string }> {
  const out: Array<{ system: string | null; code: string }> = [];
  for (const c of concepts) {
    for (const coding of at(c, 'coding')) {
      const { system, code } = coding as { system?: unknown; code?: unknown };
      if (typeof code === 'string' && code.trim())
        out.push({ system: typeof system === 'string' ? system : null, code });
    }
  }
  return out;
}

function identifiersIn(ids: unknown[]): Array<{ system: string | null; code: string }> {
  const out: Array<{ system: string | null; code: string }> = [];
  for (const id of ids) {
    const { system, value } = id as { system?: unknown; value?: unknown };
    if (typeof value === 'string' && value.trim())
      out.push({ system: typeof system === 'string' ? system : null, code: value });
  }
  return out;
}

/** `system|value` as the identifier kind takes it. */
function coded(key: string): { system: string | null; code: string } {
  const bar = key.indexOf('|');
  return bar < 0
    ? { system: null, code: key }
    : { system: key.slice(0, bar) || null, code: key.slice(bar + 1) };
}

/** The dates (as written) of a resource's `date` parameter; used for ranges and `_sort`. */
export function datesOf(resource: FhirResource): string[] {
  if (resource.resourceType === 'Patient') return strings(at(resource, 'birthDate'));
  return (DATE_PATHS[resource.resourceType] ?? []).flatMap((p) => strings(at(resource, p)));
}

/** The name of the date parameter of a type (`birthdate` for Patient), or null. */
export function dateParamOf(type: string): string | null {
  if (type === 'Patient') return 'birthdate';
  return VAULT_SEARCH_PARAMS[type]?.date ? 'date' : null;
}

/** The index entries of a resource, for BlindIndex.indexResource. */
export function indexEntriesOf(resource: FhirResource, patientId: string | null): IndexEntry[] {
  const out: IndexEntry[] = [];
  const type = resource.resourceType;
  const push = (param: string, values: Array<string | { system: string | null; code: string }>) => {
    for (const value of values) out.push({ param, value });
  };
  if (type === 'Patient') {
    push('identifier', identifiersIn(at(resource, 'identifier')));
    const names = at(resource, 'name');
    push('family', strings(at(names, 'family')));
    push('given', strings(at(names, 'given')));
    push('name', strings([...at(names, 'text'), ...at(names, 'family'), ...at(names, 'given')]));
    push('name', strings([...at(names, 'prefix'), ...at(names, 'suffix')]));
    push('birthdate', strings(at(resource, 'birthDate')));
    push(
      'gender',
      strings(at(resource, 'gender')).map((code) => ({
        system: 'http://hl7.org/fhir/administrative-gender',
        code,
      })),
    );
    return out;
  }
  const params = VAULT_SEARCH_PARAMS[type] ?? {};
  if (params.patient && patientId !== null) push('patient', [`Patient/${patientId}`]);
  if (params.date) push('date', datesOf(resource));
  if (type === 'Encounter' || type === 'CareTeam') {
    const who = at(resource, type === 'Encounter' ? 'participant.individual' : 'participant.member');
    const refs = strings(at(who, 'reference'));
    push(
      'participant',
      refs
        .map(parseReference)
        .filter((r) => r !== null)
        .map((r) => `${r.type}/${r.id}`),
    );
    push('participant-identifier', [
      ...refs
        .map(conditionalIdentifier)
        .filter((x) => x !== null)
        .map(coded),
      ...identifiersIn(at(who, 'identifier')),
    ]);
    push(
      'status',
      strings(at(resource, 'status')).map((code) => ({
        system:
          type === 'Encounter'
            ? 'http://hl7.org/fhir/encounter-status'
            : 'http://hl7.org/fhir/care-team-status',
        code,
      })),
    );
  }
  if (type === 'Practitioner') push('identifier', identifiersIn(at(resource, 'identifier')));
  if (type === 'PractitionerRole') {
    for (const param of ['practitioner', 'organization'] as const)
      push(
        param,
        strings(at(resource, `${param}.reference`))
          .map(parseReference)
          .filter((r) => r !== null)
          .map((r) => `${r.type}/${r.id}`),
      );
  }
  const codePath = CODE_PATHS[type];
  if (params.code && codePath) push('code', codings(at(resource, codePath)));
  return out;
}
