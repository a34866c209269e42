/**
 * FHIR R4 validation (src/vault/fhir-validation.ts): codes outside a required binding are refused
 * with the FHIR path of each (medplum alone accepts them), valid resources pass, every resource of
 * the Synthea export passes (no false positives; skipped, saying why, when the shared data folder
 * is absent), and hostile input (deep nesting, huge arrays, non-string codes) gets a 400, no crash.
 */
import { createReadStream, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { VigilError } from '../../src/core/index.js';
import { type FhirResource, STORED_TYPES, validateFhir, warmUpValidation } from '../../src/vault/index.js';

const ROOT = path.resolve(fileURLToPath(import.meta.url), '../../..');
const SYNTHEA = path.resolve(ROOT, '../shared/data/fhir-synthea-10');
const synthea = existsSync(SYNTHEA);
if (!synthea)
  console.warn(
    `Synthea validation test skipped: ${SYNTHEA} is absent (the shared data folder is not beside the project)`,
  );

interface Refusal {
  status: number;
  message: string;
  fhirCode: unknown;
  issues: { expression: string; message: string }[];
}

/** The VigilError `validateFhir` throws, or fails the test when it accepts the resource. */
async function refusal(resource: unknown): Promise<Refusal> {
  try {
    await validateFhir(resource as FhirResource);
  } catch (err) {
    expect(err).toBeInstanceOf(VigilError);
    const e = err as VigilError;
    const details = e.details as { fhirCode: unknown; issues: Refusal['issues'] };
    return { status: e.status, message: e.message, fhirCode: details.fhirCode, issues: details.issues };
  }
  throw new Error(`accepted: ${JSON.stringify(resource).slice(0, 200)}`);
}

/** The expressions of the issues, after checking the error's shape. */
async function refusedAt(resource: unknown): Promise<string[]> {
  const r = await refusal(resource);
  expect(r.status).toBe(400);
  expect(r.fhirCode).toBe('invalid');
  return r.issues.map((i) => i.expression);
}

const patient = (extra: Record<string, unknown> = {}): FhirResource => ({
  resourceType: 'Patient',
  identifier: [{ use: 'official', system: 'urn:mrn', value: 'MRN-1' }],
  name: [{ use: 'official', family: 'Quixoteplum', given: ['Zebulonia'] }],
  telecom: [{ system: 'phone', value: '555-0100', use: 'home' }],
  gender: 'female',
  birthDate: '1970-03-15',
  ...extra,
});

const observation = (extra: Record<string, unknown> = {}): FhirResource => ({
  resourceType: 'Observation',
  status: 'final',
  category: [
    {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }],
    },
  ],
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
  subject: { reference: 'Patient/p-1' },
  effectiveDateTime: '2026-02-27T10:00:00Z',
  valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
  ...extra,
});

const encounter = (extra: Record<string, unknown> = {}): FhirResource => ({
  resourceType: 'Encounter',
  status: 'in-progress',
  class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
  subject: { reference: 'Patient/p-1' },
  participant: [{ individual: { reference: 'Practitioner/house' } }],
  ...extra,
});

const consent = (provision: Record<string, unknown>, extra: Record<string, unknown> = {}): FhirResource => ({
  resourceType: 'Consent',
  status: 'active',
  scope: {
    coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }],
  },
  category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
  patient: { reference: 'Patient/p-1' },
  policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
  provision,
  ...extra,
});

const condition = (clinicalStatus: unknown): FhirResource => ({
  resourceType: 'Condition',
  clinicalStatus,
  code: { coding: [{ system: 'http://snomed.info/sct', code: '44054006' }] },
  subject: { reference: 'Patient/p-1' },
});

beforeAll(() => warmUpValidation(), 120_000);

describe('required bindings', () => {
  it('accepts valid resources of the kinds checked below', async () => {
    await validateFhir(patient());
    await validateFhir(observation());
    await validateFhir(encounter());
    await validateFhir(consent({ type: 'permit', provision: [{ type: 'deny' }] }));
    await validateFhir(
      condition({
        coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
      }),
    );
  });

  it('refuses Patient.gender outside administrative-gender, naming the allowed codes', async () => {
    const r = await refusal(patient({ gender: 'bogus' }));
    expect(r).toMatchObject({ status: 400, fhirCode: 'invalid' });
    expect(r.issues).toEqual([
      {
        expression: 'Patient.gender',
        message:
          'Value "bogus" is not in the required value set http://hl7.org/fhir/ValueSet/administrative-gender (male, female, other, unknown)',
      },
    ]);
    expect(r.message).toBe(`Patient.gender: ${r.issues[0]!.message}`);
  });

  it('refuses Encounter.status, also in a backbone element', async () => {
    expect(await refusedAt(encounter({ status: 'nope' }))).toEqual(['Encounter.status']);
    expect(
      await refusedAt(
        encounter({
          statusHistory: [
            { status: 'arrived', period: { start: '2026-01-01' } },
            { status: 'open', period: { start: '2026-01-02' } },
          ],
        }),
      ),
    ).toEqual(['Encounter.statusHistory[1].status']);
  });

  it('refuses Observation.status', async () => {
    expect(await refusedAt(observation({ status: 'done' }))).toEqual(['Observation.status']);
  });

  it('refuses Consent.status and Consent.provision.type at any depth', async () => {
    expect(await refusedAt(consent({ type: 'permit' }, { status: 'enabled' }))).toEqual(['Consent.status']);
    expect(await refusedAt(consent({ type: 'allow' }))).toEqual(['Consent.provision.type']);
    expect(
      await refusedAt(consent({ type: 'permit', provision: [{ type: 'deny' }, { type: 'refuse' }] })),
    ).toEqual(['Consent.provision.provision[1].type']);
  });

  it('refuses ContactPoint.system inside Patient.telecom', async () => {
    const telecom = [
      { system: 'email', value: 'a@example.org' },
      { system: 'telepathy', value: '555' },
    ];
    expect(await refusedAt(patient({ telecom }))).toEqual(['Patient.telecom[1].system']);
  });

  it('refuses Identifier.use and HumanName.use', async () => {
    expect(
      await refusedAt(patient({ identifier: [{ use: 'primary', system: 'urn:mrn', value: 'MRN-1' }] })),
    ).toEqual(['Patient.identifier[0].use']);
    expect(await refusedAt(patient({ name: [{ use: 'legal', family: 'X' }] }))).toEqual([
      'Patient.name[0].use',
    ]);
  });

  it('refuses a Quantity.comparator, in a choice type and in an extension', async () => {
    expect(await refusedAt(observation({ valueQuantity: { value: 1, comparator: '~' } }))).toEqual([
      'Observation.valueQuantity.comparator',
    ]);
    const ext = [{ url: 'http://example.org/ext', valueQuantity: { value: 1, comparator: '!=' } }];
    expect(await refusedAt(patient({ extension: ext }))).toEqual([
      'Patient.extension[0].valueQuantity.comparator',
    ]);
    expect(await refusedAt(patient({ _birthDate: { extension: ext } }))).toEqual([
      'Patient.birthDate.extension[0].valueQuantity.comparator',
    ]);
  });

  it('refuses Narrative.status and a bad code in a contained resource', async () => {
    expect(
      await refusedAt(
        patient({
          text: { status: 'handwritten', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' },
        }),
      ),
    ).toEqual(['Patient.text.status']);
    const contained = [{ resourceType: 'Practitioner', id: 'pr', gender: 'robot' }];
    expect(
      await refusedAt(observation({ contained, performer: [{ reference: '#pr' }], status: 'final' })),
    ).toEqual(['Observation.contained[0].gender']);
  });

  it('checks a required CodeableConcept: one coding must be in the value set', async () => {
    const system = 'http://terminology.hl7.org/CodeSystem/condition-clinical';
    // A translation beside a valid coding is fine; a coding without a system passes on its code.
    await validateFhir(
      condition({
        coding: [
          { system: 'urn:local', code: 'x' },
          { system, code: 'active' },
        ],
      }),
    );
    await validateFhir(condition({ coding: [{ code: 'resolved' }] }));
    const wrong = await refusal(condition({ coding: [{ system, code: 'cured' }] }));
    expect(wrong.issues).toEqual([
      {
        expression: 'Condition.clinicalStatus',
        message: expect.stringMatching(
          /^Value ".*condition-clinical#cured" is not in the required value set http:\/\/hl7.org\/fhir\/ValueSet\/condition-clinical \(active, /,
        ),
      },
    ]);
    expect(await refusedAt(condition({ coding: [{ system: 'urn:local', code: 'active' }] }))).toEqual([
      'Condition.clinicalStatus',
    ]);
    expect(await refusedAt(condition({ text: 'better' }))).toEqual(['Condition.clinicalStatus']);
  });

  it('reports every bad code at once, with medplum’s structural issues', async () => {
    const r = await refusal(
      patient({ gender: 'x', telecom: [{ system: 'y' }], name: [{ use: 'z' }], unknownField: 1 }),
    );
    expect(r.issues.map((i) => i.expression)).toEqual(
      expect.arrayContaining(['Patient.gender', 'Patient.telecom[0].system', 'Patient.name[0].use']),
    );
    expect(r.issues.some((i) => i.expression.includes('unknownField'))).toBe(true);
    expect(r.message).toMatch(/\(and \d+ more\)$/);
  });

  it('leaves bindings it cannot enumerate alone (mime types, SNOMED, extensible bindings)', async () => {
    await validateFhir(
      patient({
        photo: [{ contentType: 'application/x-made-up', data: 'AAAA' }],
        maritalStatus: { text: 'x' },
      }),
    );
    await validateFhir(encounter({ class: { system: 'urn:local', code: 'whatever' } }));
  });
});

describe('hostile input', () => {
  it('refuses deep nesting (which overflows medplum’s stack) with a 400', async () => {
    let provision: Record<string, unknown> = { type: 'deny' };
    for (let i = 0; i < 20_000; i++) provision = { type: 'permit', provision: [provision] };
    const r = await refusal(consent(provision));
    expect(r.status).toBe(400);
    expect(r.message).toMatch(/nested more than 64 levels deep/);
    expect(r.issues[0]!.expression).toMatch(/^Consent\.provision\.provision\[0\]/);

    let junk: unknown = 1;
    for (let i = 0; i < 20_000; i++) junk = i % 2 ? { a: junk } : [junk];
    for (const resource of [
      patient({ unknownField: junk }),
      patient({ birthDate: junk }),
      patient({ telecom: [{ extension: [{ url: 'x', valueString: junk }] }] }),
      { resourceType: 'NotAType', x: junk },
      { resourceType: 'Patient', contained: [{ resourceType: 'Patient', contained: junk }] },
    ])
      expect((await refusal(resource)).message).toMatch(/nested more than 64 levels deep/);
  });

  it('accepts legitimate nesting: sixteen levels of Consent provisions', async () => {
    let provision: Record<string, unknown> = { type: 'deny' };
    for (let i = 0; i < 16; i++) provision = { type: 'permit', provision: [provision] };
    await validateFhir(consent(provision));
  });

  it('caps the issues of a huge array of bad codes and answers quickly', async () => {
    const category = Array.from({ length: 50_000 }, (_, i) => (i % 2 ? 'food' : `bad-${i}`));
    const started = performance.now();
    const r = await refusal({
      resourceType: 'AllergyIntolerance',
      clinicalStatus: {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical', code: 'active' },
        ],
      },
      patient: { reference: 'Patient/p-1' },
      category,
    });
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(r.issues).toHaveLength(20);
    expect(r.issues[0]).toMatchObject({ expression: 'AllergyIntolerance.category[0]' });
    expect(r.message).toMatch(/\(and 19 more\)$/);
  });

  it('refuses non-string codes as structure errors, without crashing', async () => {
    for (const gender of [5, true, null, {}, ['male'], { toString: 'male' }]) {
      const r = await refusal(patient({ gender }));
      expect(r.status).toBe(400);
      expect(r.issues.length).toBeGreaterThan(0);
    }
    // medplum lets an object stand for any primitive and an empty array for a single value.
    // (medplum may add "Missing required property" at the same path.)
    expect((await refusal(encounter({ status: {} }))).issues).toContainEqual({
      expression: 'Encounter.status',
      message: 'Expected a code value, got an object',
    });
    expect((await refusal(encounter({ status: [] }))).issues).toContainEqual({
      expression: 'Encounter.status',
      message: 'Expected a single value, got an empty array',
    });
    expect(await refusedAt(patient({ birthDate: {} }))).toEqual(['Patient.birthDate']);
    expect(await refusedAt(consent({ type: 7 }))).toContain('Consent.provision.type');
    expect(await refusedAt(condition({ coding: [{ system: 1, code: { a: 1 } }] }))).toEqual(
      expect.arrayContaining(['Condition.clinicalStatus']),
    );
    const codes = await refusedAt(condition('active'));
    expect(codes.length).toBeGreaterThan(0);
  });

  it('refuses what is not a resource at all', async () => {
    for (const junk of [{ resourceType: 'Patient', gender: 'x'.repeat(10_000) }, { resourceType: 'Nope' }]) {
      const r = await refusal(junk);
      expect(r.status).toBe(400);
    }
    const long = await refusal({ resourceType: 'Patient', gender: 'x'.repeat(10_000) });
    expect(long.message.length).toBeLessThan(400);
  });
});

describe('every stored type', () => {
  it('has a walker: a bad Narrative.status is found in each (Binary has no narrative)', async () => {
    const text = { status: 'bad', div: '<div xmlns="http://www.w3.org/1999/xhtml">x</div>' };
    for (const type of STORED_TYPES.filter((t) => t !== 'Binary')) {
      const r = await refusal({ resourceType: type, text });
      expect(r.issues.map((i) => i.expression)).toContain(`${type}.text.status`);
    }
  });
});

describe.skipIf(!synthea)('the Synthea export', () => {
  it('validates every resource (no false positives)', async () => {
    const files = readdirSync(SYNTHEA).filter((f) => f.endsWith('.ndjson'));
    let count = 0;
    const failures: string[] = [];
    for (const file of files) {
      const lines = createInterface({
        input: createReadStream(path.join(SYNTHEA, file)),
        crlfDelay: Infinity,
      });
      for await (const line of lines) {
        if (!line.trim()) continue;
        count++;
        const resource = JSON.parse(line) as FhirResource;
        try {
          await validateFhir(resource);
        } catch (err) {
          failures.push(`${file}: ${resource.id}: ${(err as Error).message}`);
        }
      }
    }
    expect(failures.slice(0, 5)).toEqual([]);
    expect(count).toBe(7160);
  }, 300_000);
});
