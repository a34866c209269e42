/**
 * @module vault/fhir-types
 * The FHIR R4 resource types the vault stores, and which patient each belongs to (the patient
 * compartment, simplified to one reference per type). The patient decides the data key a resource
 * is encrypted under, so erasing a patient shreds every resource that names them. Pure.
 */
import { VigilError } from '../core/index.js';

/** A FHIR resource as JSON. The vault validates it against R4 before storing it. */
export interface FhirResource {
  resourceType: string;
  id?: string;
  meta?: { versionId?: string; lastUpdated?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/**
 * Where the patient is named, per stored type: `self` for Patient, a field holding a Reference,
 * or null for shared resources (one data key per type). Device is here because Synthea's bulk
 * export carries implanted devices with a patient; the issue's list does not name it.
 */
const PATIENT_FIELD = {
  Patient: 'self',
  Practitioner: null,
  PractitionerRole: null,
  Organization: null,
  Location: null,
  Encounter: 'subject',
  CareTeam: 'subject',
  Condition: 'subject',
  Observation: 'subject',
  Procedure: 'subject',
  MedicationRequest: 'subject',
  AllergyIntolerance: 'patient',
  Immunization: 'patient',
  DocumentReference: 'subject',
  Binary: 'securityContext',
  Consent: 'patient',
  Device: 'patient',
} as const satisfies Record<string, string | null>;

/** Types that can be created, read, updated, deleted and searched. */
export const STORED_TYPES: readonly string[] = Object.keys(PATIENT_FIELD);

/** Whether resources of a type belong to a patient (and are encrypted under the patient's key). */
export function isPatientScoped(type: string): boolean {
  return Object.hasOwn(PATIENT_FIELD, type) && PATIENT_FIELD[type as keyof typeof PATIENT_FIELD] !== null;
}

/** AuditEvent is generated from the audit trail: read and search only. */
export const AUDIT_EVENT = 'AuditEvent';

/** Whether `type` is stored by the vault (AuditEvent is not: it is generated). */
export function isStoredType(type: string): boolean {
  return Object.hasOwn(PATIENT_FIELD, type);
}

/** NOT_FOUND for an unknown type, BAD_REQUEST-free: the URL names no resource the vault holds. */
export function requireStoredType(type: string): void {
  if (!isStoredType(type))
    throw new VigilError('NOT_FOUND', `Resource type ${type.slice(0, 64)} is not supported`, {
      details: { fhirCode: 'not-supported' },
    });
}

const ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;

/** Throws BAD_REQUEST unless `id` is a FHIR id. */
export function requireId(id: string, what = 'id'): void {
  if (!ID_RE.test(id)) throw new VigilError('BAD_REQUEST', `${what} is not a valid FHIR id`);
}

/** A relative reference `Type/id` split, or null when it is anything else. */
export function parseReference(reference: unknown): { type: string; id: string } | null {
  if (typeof reference !== 'string') return null;
  const m = /^([A-Z][A-Za-z]{0,63})\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/.exec(
    reference,
  );
  return m ? { type: m[1]!, id: m[2]! } : null;
}

function referenceOf(value: unknown): unknown {
  return value && typeof value === 'object' ? (value as { reference?: unknown }).reference : undefined;
}

/**
 * The id of the patient a resource belongs to, or null for shared resources and for references to
 * something other than a Patient (an Observation about a Location). A patient named in a form the
 * vault cannot resolve (a conditional `Patient?identifier=…` or an unresolved `urn:uuid:`) is
 * refused: storing it under a shared key would escape erasure and access checks.
 */
export function patientOf(resource: FhirResource): string | null {
  const field = PATIENT_FIELD[resource.resourceType as keyof typeof PATIENT_FIELD];
  if (field === undefined) requireStoredType(resource.resourceType);
  if (field === null || field === undefined) return null;
  if (field === 'self') {
    if (!resource.id) throw new VigilError('INTERNAL', 'A Patient needs its id before it is stored');
    return resource.id;
  }
  const ref = referenceOf(resource[field]);
  if (ref === undefined) return null;
  const parsed = parseReference(ref);
  if (parsed) return parsed.type === 'Patient' ? parsed.id : null;
  if (
    typeof ref === 'string' &&
    (ref.startsWith('Patient') || ref.startsWith('urn:') || ref.includes('/Patient/'))
  )
    throw new VigilError(
      'BAD_REQUEST',
      `${resource.resourceType}.${field}.reference must be a relative Patient/<id> reference`,
      { details: { expression: [`${resource.resourceType}.${field}.reference`] } },
    );
  return null;
}
