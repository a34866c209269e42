/**
 * @module vault/capability
 * The CapabilityStatement, generated from what the vault implements (its stored types, their
 * search parameters and interactions), so it cannot claim more than the code does. Pure.
 */
import type { FhirResource } from './fhir-types.js';
import { AUDIT_EVENT, STORED_TYPES } from './fhir-types.js';
import { searchParamsOf } from './search-values.js';

const KIND_TYPE = {
  identifier: 'token',
  token: 'token',
  name: 'string',
  date: 'date',
  reference: 'reference',
} as const;

const COMMON_PARAMS = [
  { name: '_id', type: 'token', documentation: 'Exact ids, comma-separated.' },
  { name: '_lastUpdated', type: 'date', documentation: 'eq, lt, le, gt, ge on the server write time.' },
];

/** The CapabilityStatement of this server. */
export function capabilityStatement(version: string, now: string): FhirResource {
  const resources = STORED_TYPES.map((type) => {
    const params = Object.entries(searchParamsOf(type)).map(([name, def]) => ({
      name,
      type: KIND_TYPE[def.kind],
      documentation:
        def.kind === 'name'
          ? 'Exact match of a whole name part or the whole name, accents and case folded; no prefix match.'
          : def.kind === 'date'
            ? 'A year, month or day is an exact index lookup; eq/ne/lt/le/gt/ge and times are evaluated on decrypted candidates.'
            : def.kind === 'reference'
              ? 'Type/id or a bare id; conditional references are not indexed.'
              : 'system|code or code; no :text or :not modifiers.',
    }));
    if (type === 'Binary')
      return {
        type,
        documentation:
          'Files, streamed and encrypted: POST the raw body with its Content-Type and ?patient=<id>; read answers the file, or the resource as JSON for small files.',
        versioning: 'no-version',
        readHistory: false,
        updateCreate: false,
        conditionalCreate: false,
        conditionalUpdate: false,
        conditionalDelete: 'not-supported',
        interaction: [{ code: 'create' }, { code: 'read' }],
        searchParam: [] as typeof params,
      };
    return {
      type,
      versioning: 'versioned-update',
      readHistory: true,
      updateCreate: true,
      conditionalCreate: false,
      conditionalUpdate: false,
      conditionalDelete: 'not-supported',
      interaction: ['create', 'read', 'vread', 'update', 'delete', 'history-instance', 'search-type'].map(
        (code) => ({
          code,
        }),
      ),
      searchParam: [...COMMON_PARAMS, ...params],
    };
  });
  resources.push({
    type: AUDIT_EVENT,
    versioning: 'no-version',
    readHistory: false,
    updateCreate: false,
    conditionalCreate: false,
    conditionalUpdate: false,
    conditionalDelete: 'not-supported',
    interaction: [{ code: 'read' }, { code: 'search-type' }],
    searchParam: [
      { name: '_id', type: 'token', documentation: 'The entry sequence number.' },
      { name: 'patient', type: 'reference', documentation: 'Patient/<id>.' },
      { name: 'agent', type: 'reference', documentation: 'The user or API token id.' },
      { name: 'date', type: 'date', documentation: 'eq, lt, le, gt, ge.' },
      { name: 'action', type: 'token', documentation: 'C, R, U, D or E.' },
    ],
  });
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: now,
    kind: 'instance',
    software: { name: 'Vigil', version },
    implementation: { description: 'Vigil patient-data vault (encrypted FHIR R4 store)' },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'application/json'],
    rest: [
      {
        mode: 'server',
        documentation:
          'Search: _count (default 20, max 1000), opaque _cursor paging, _sort=date|-date; unsupported parameters answer 400 OperationOutcome.',
        security: { description: 'A Vigil session or API token; access is decided per patient by role.' },
        resource: resources,
        interaction: [{ code: 'batch' }, { code: 'transaction' }],
      },
    ],
  };
}
