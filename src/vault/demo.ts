/**
 * @module vault/demo
 * The demo hospital's patient records: synthetic patients (invented names, no real data), a
 * Practitioner for each demo clinician with their console account linked to it, and Encounters
 * that give each clinician a handful of patients in their care (open admissions and recent
 * visits), with vital signs. Everything goes in through the bulk import, as an operator would, so
 * the audit trail records it. Deterministic for a given random source.
 */
import type { Rng } from '../core/index.js';
import type { FhirResource } from './fhir-types.js';
import type { Vault } from './vault.js';

const GIVEN = [
  'Amelia',
  'Oliver',
  'Isla',
  'Noah',
  'Ava',
  'Leo',
  'Mia',
  'Arthur',
  'Grace',
  'Theo',
  'Ruby',
  'Oscar',
];
const FAMILY = [
  'Hartley',
  'Okafor',
  'Lindqvist',
  'Moreau',
  'Castillo',
  'Nakamura',
  'Brennan',
  'Farouk',
  'Delaney',
];
const VITALS = [
  { code: '8867-4', display: 'Heart rate', unit: '/min', low: 55, high: 110 },
  { code: '8310-5', display: 'Body temperature', unit: 'Cel', low: 36, high: 39 },
  { code: '59408-5', display: 'Oxygen saturation', unit: '%', low: 90, high: 100 },
];

/** A demo clinician: console user id and a display name. */
export interface DemoClinician {
  userId: string;
  name: string;
}

/** Seeds the demo records; returns a one-line summary. */
export async function vaultDemoSeed(
  vault: Vault,
  clinicians: readonly DemoClinician[],
  rng: Rng,
  progress: (done: number, total: number) => void,
  now: Date,
): Promise<string> {
  const operator = { id: 'demo-seeder', role: 'admin' };
  const day = 86_400_000;
  const at = (msAgo: number) => new Date(now.getTime() - msAgo).toISOString();
  const resources: FhirResource[] = [];
  const patients: string[] = [];
  for (let i = 0; i < 24; i++) {
    const id = `demo-patient-${String(i + 1).padStart(2, '0')}`;
    patients.push(id);
    resources.push({
      resourceType: 'Patient',
      id,
      identifier: [{ system: 'urn:vigil:demo:mrn', value: `MRN${100200 + i}` }],
      name: [{ family: rng.pick(FAMILY), given: [rng.pick(GIVEN)] }],
      gender: rng.next() < 0.5 ? 'female' : 'male',
      birthDate: `${1940 + rng.int(70)}-${String(1 + rng.int(12)).padStart(2, '0')}-${String(1 + rng.int(28)).padStart(2, '0')}`,
    });
  }
  clinicians.forEach((c, n) => {
    const practitioner = `demo-practitioner-${n + 1}`;
    resources.push({
      resourceType: 'Practitioner',
      id: practitioner,
      identifier: [{ system: 'urn:vigil:demo:staff', value: c.userId }],
      name: [{ text: c.name }],
    });
    for (let k = 0; k < 4; k++) {
      const patient = patients[(n * 3 + k) % patients.length]!;
      const open = k === 0;
      const start = at(open ? rng.int(3) * day + 3_600_000 : (2 + rng.int(20)) * day);
      resources.push({
        resourceType: 'Encounter',
        id: `demo-encounter-${n + 1}-${k + 1}`,
        status: open ? 'in-progress' : 'finished',
        class: {
          system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
          code: open ? 'IMP' : 'AMB',
        },
        subject: { reference: `Patient/${patient}` },
        participant: [{ individual: { reference: `Practitioner/${practitioner}`, display: c.name } }],
        period: open ? { start } : { start, end: new Date(Date.parse(start) + 3_600_000).toISOString() },
      });
      const v = rng.pick(VITALS);
      resources.push({
        resourceType: 'Observation',
        id: `demo-observation-${n + 1}-${k + 1}`,
        status: 'final',
        category: [
          {
            coding: [
              { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' },
            ],
          },
        ],
        code: { coding: [{ system: 'http://loinc.org', code: v.code, display: v.display }] },
        subject: { reference: `Patient/${patient}` },
        effectiveDateTime: start,
        valueQuantity: {
          value: Math.round((v.low + rng.next() * (v.high - v.low)) * 10) / 10,
          unit: v.unit,
          system: 'http://unitsofmeasure.org',
          code: v.unit,
        },
      });
    }
  });
  const BATCH = 100;
  for (let i = 0; i < resources.length; i += BATCH) {
    await vault.importBatch(operator, resources.slice(i, i + BATCH));
    progress(Math.min(i + BATCH, resources.length), resources.length + clinicians.length);
  }
  for (const [n, c] of clinicians.entries()) {
    await vault.linkStaff(operator, c.userId, `demo-practitioner-${n + 1}`);
    progress(resources.length + n + 1, resources.length + clinicians.length);
  }
  return `${patients.length} synthetic patients, ${clinicians.length} clinicians linked to practitioners with patients in their care`;
}
