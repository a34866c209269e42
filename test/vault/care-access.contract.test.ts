/**
 * Care-based access on every engine: a clinician reaches a patient only through an Encounter they
 * take part in (open, or within the window; named by reference or by NPI as Synthea writes it) or
 * an active CareTeam; a Consent denial for the practitioner or their organisation is enforced;
 * break-the-glass grants time-limited access, marks every audit entry and raises a high event;
 * search results never include patients outside the clinician's care; the chain still verifies.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VigilEvent } from '../../src/core/index.js';
import type { Database } from '../../src/platform/db/index.js';
import type { FhirResource, VaultPrincipal } from '../../src/vault/index.js';
import { testDatabases } from '../support/databases.js';
import { type VaultOnDb, vaultOn } from './vault-fixture.js';

const OP = { id: 'operator', role: 'admin' };
const house: VaultPrincipal = { id: 'u-house', role: 'clinician' };
const cuddy: VaultPrincipal = { id: 'u-cuddy', role: 'clinician' };
const unlinked: VaultPrincipal = { id: 'u-new', role: 'clinician' };
const officer: VaultPrincipal = { id: 'u-privacy', role: 'privacy-officer' };
const admin: VaultPrincipal = { id: 'u-admin', role: 'admin' };
const NPI = 'http://hl7.org/fhir/sid/us-npi';

// The fixture's clock: 2026-03-01T08:00Z.
const practitioner = (id: string, npi: string): FhirResource => ({
  resourceType: 'Practitioner',
  id,
  identifier: [{ system: NPI, value: npi }],
  name: [{ family: id }],
});
const patient = (id: string): FhirResource => ({
  resourceType: 'Patient',
  id,
  name: [{ family: `Fam${id}` }],
});
const observation = (id: string, patientId: string): FhirResource => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
  subject: { reference: `Patient/${patientId}` },
  effectiveDateTime: '2026-02-27T10:00:00Z',
});
const encounter = (
  id: string,
  patientId: string,
  individual: Record<string, unknown>,
  status: string,
  period: Record<string, string>,
): FhirResource => ({
  resourceType: 'Encounter',
  id,
  status,
  class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
  subject: { reference: `Patient/${patientId}` },
  participant: [{ individual }],
  period,
});

for (const engine of testDatabases()) {
  describe(`care-based access on ${engine.name}`, () => {
    let database: Database;
    let v: VaultOnDb;
    const events: VigilEvent[] = [];

    beforeEach(async () => {
      database = await engine.open();
      v = await vaultOn(database, { policy: 'care' });
      events.length = 0;
      await v.bus.subscribe({
        group: 'test',
        subjects: ['vigil.vault.>'],
        handler: async (e) => void events.push(...e),
      });
      await v.vault.importBatch(OP, [
        practitioner('house', '1111111111'),
        practitioner('cuddy', '2222222222'),
        patient('p-open'),
        patient('p-recent'),
        patient('p-old'),
        patient('p-team'),
        patient('p-none'),
        patient('p-consent'),
        observation('o-open', 'p-open'),
        observation('o-old', 'p-old'),
        observation('o-none', 'p-none'),
        observation('o-consent', 'p-consent'),
        // Open (in-progress) for years: care, whatever the dates.
        encounter('e-open', 'p-open', { reference: 'Practitioner/house' }, 'in-progress', {
          start: '2024-01-01T00:00:00Z',
        }),
        // Finished 10 days ago, named by NPI as Synthea does: care.
        encounter(
          'e-recent',
          'p-recent',
          { reference: `Practitioner?identifier=${NPI}|1111111111` },
          'finished',
          { start: '2026-02-19T09:00:00Z', end: '2026-02-19T10:00:00Z' },
        ),
        // Finished 90 days ago: no care.
        encounter('e-old', 'p-old', { reference: 'Practitioner/house' }, 'finished', {
          start: '2025-12-01T09:00:00Z',
          end: '2025-12-01T10:00:00Z',
        }),
        {
          resourceType: 'CareTeam',
          id: 'ct-1',
          status: 'active',
          subject: { reference: 'Patient/p-team' },
          participant: [{ member: { reference: 'Practitioner/house' } }],
        },
        encounter('e-consent', 'p-consent', { reference: 'Practitioner/house' }, 'in-progress', {
          start: '2026-02-28T00:00:00Z',
        }),
        encounter('e-consent-cuddy', 'p-consent', { reference: 'Practitioner/cuddy' }, 'in-progress', {
          start: '2026-02-28T00:00:00Z',
        }),
        {
          resourceType: 'Consent',
          id: 'c-1',
          status: 'active',
          scope: {
            coding: [
              { system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' },
            ],
          },
          category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
          patient: { reference: 'Patient/p-consent' },
          policyRule: {
            coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }],
          },
          provision: {
            type: 'permit',
            provision: [
              {
                type: 'deny',
                actor: [{ role: { text: 'performer' }, reference: { reference: 'Practitioner/house' } }],
              },
            ],
          },
        },
      ]);
      await v.vault.linkStaff(OP, house.id, 'house');
      await v.vault.linkStaff(OP, cuddy.id, 'cuddy');
    });
    afterEach(async () => {
      await v.close();
      await database.close();
    });
    afterAll(() => engine.cleanup());

    it('allows a participant of an open or recent Encounter, or a CareTeam member', async () => {
      for (const id of ['p-open', 'p-recent', 'p-team'])
        expect((await v.vault.read(house, 'Patient', id)).id).toBe(id);
      expect((await v.vault.read(house, 'Observation', 'o-open')).id).toBe('o-open');
      const o = await v.vault.create(house, observation('x', 'p-recent'), 'Observation');
      expect(o.patientId).toBe('p-recent');
    });

    it('refuses a patient whose only Encounter is outside the window, and a patient with none', async () => {
      for (const [type, id] of [
        ['Patient', 'p-old'],
        ['Observation', 'o-old'],
        ['Patient', 'p-none'],
        ['Observation', 'o-none'],
      ] as const)
        await expect(v.vault.read(house, type, id)).rejects.toMatchObject({
          code: 'FORBIDDEN',
          details: { breakGlassPossible: true },
        });
      await expect(v.vault.create(house, observation('y', 'p-none'), 'Observation')).rejects.toMatchObject({
        code: 'FORBIDDEN',
      });
      // A user not linked to any practitioner is told what to do.
      await expect(v.vault.read(unlinked, 'Patient', 'p-open')).rejects.toThrow(
        /not linked to a practitioner/,
      );
      // The window is the clock's: 95 days later the "recent" encounter gives no care either.
      v.clock.advance(95 * 86_400_000);
      await expect(v.vault.read(cuddy, 'Patient', 'p-recent')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    });

    it('enforces a Consent that denies the practitioner, and not for others', async () => {
      await expect(v.vault.read(house, 'Observation', 'o-consent')).rejects.toThrow(/consent denies/);
      expect((await v.vault.read(cuddy, 'Observation', 'o-consent')).id).toBe('o-consent');
      // Withdrawing the consent (status inactive) restores access at once in this process.
      const consent = (await v.vault.read(cuddy, 'Consent', 'c-1')).resource;
      await v.vault.importBatch(OP, [{ ...consent, status: 'inactive' }]);
      expect((await v.vault.read(house, 'Observation', 'o-consent')).id).toBe('o-consent');
    });

    it('denies an organisation named by the consent through the practitioner role', async () => {
      await v.vault.importBatch(OP, [
        { resourceType: 'Organization', id: 'org-1', name: 'Outside lab' },
        {
          resourceType: 'PractitionerRole',
          id: 'pr-cuddy',
          practitioner: { reference: 'Practitioner/cuddy' },
          organization: { reference: 'Organization/org-1' },
        },
        {
          resourceType: 'Consent',
          id: 'c-2',
          status: 'active',
          scope: {
            coding: [
              { system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' },
            ],
          },
          category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
          patient: { reference: 'Patient/p-consent' },
          policyRule: {
            coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTOUT' }],
          },
          provision: {
            type: 'deny',
            actor: [{ role: { text: 'custodian' }, reference: { reference: 'Organization/org-1' } }],
          },
        },
      ]);
      await expect(v.vault.read(cuddy, 'Observation', 'o-consent')).rejects.toThrow(/consent denies/);
    });

    it('keeps other roles out whatever the care: admins and privacy officers read no clinical data', async () => {
      await v.vault.linkStaff(OP, admin.id, 'house');
      await expect(v.vault.read(admin, 'Patient', 'p-open')).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(v.vault.read(officer, 'Patient', 'p-open')).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(
        v.vault.declareBreakGlass(admin, 'p-none', 'Cardiac arrest in ward 3'),
      ).rejects.toMatchObject({
        code: 'FORBIDDEN',
      });
    });

    it('search returns only patients in care, even for a query that matches others', async () => {
      const page = await v.vault.search(house, 'Patient', [['_count', '100']]);
      expect(page.resources.map((r) => r.id).sort()).toEqual(['p-open', 'p-recent', 'p-team']);
      const obs = await v.vault.search(house, 'Observation', [['code', 'http://loinc.org|8867-4']]);
      expect(obs.resources.map((r) => r.id)).toEqual(['o-open']);
      // Naming a patient outside care is refused outright (the search would otherwise confirm data exists).
      await expect(v.vault.search(house, 'Observation', [['patient', 'p-none']])).rejects.toMatchObject({
        code: 'FORBIDDEN',
      });
      // Encounters found by participant include those naming the practitioner by NPI.
      const enc = await v.vault.search(house, 'Encounter', [['participant', 'Practitioner/house']]);
      expect(enc.resources.map((r) => r.id).sort()).toEqual(['e-open', 'e-recent']);
    });

    it('break-the-glass: reason required, time-limited, audited with the reason, alert raised', async () => {
      await expect(v.vault.declareBreakGlass(house, 'p-none', 'short')).rejects.toMatchObject({
        code: 'BAD_REQUEST',
      });
      await expect(
        v.vault.declareBreakGlass(house, 'nobody', 'Unconscious on arrival in ED'),
      ).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      const grant = await v.vault.declareBreakGlass(
        house,
        'p-none',
        'Unconscious on arrival in ED, no records\u0000',
      );
      expect(grant.reason).toBe('Unconscious on arrival in ED, no records');
      expect(Date.parse(grant.expiresAt) - Date.parse(grant.grantedAt)).toBe(60 * 60_000);
      expect((await v.vault.read(house, 'Observation', 'o-none')).id).toBe('o-none');
      const page = await v.vault.search(house, 'Patient', [['_count', '100']]);
      expect(page.resources.map((r) => r.id)).toContain('p-none');
      // Only the clinician who declared it.
      await expect(v.vault.read(cuddy, 'Observation', 'o-none')).rejects.toMatchObject({ code: 'FORBIDDEN' });

      const audit = await v.vault.searchAuditEvents(officer, [['_count', '20']]);
      const marked = audit.resources.filter((e) => JSON.stringify(e).includes('Unconscious on arrival'));
      // The declaration, the read, the search.
      expect(marked.length).toBeGreaterThanOrEqual(3);
      await new Promise((r) => setTimeout(r, 50));
      const alert = events.find((e) => e.kind === 'vault.break_glass.declared');
      expect(alert?.severity).toBe('high');
      expect(JSON.stringify(alert)).not.toContain('p-none');
      expect(JSON.stringify(alert)).not.toContain('Unconscious');

      const grants = await v.vault.breakGlassGrants(officer, new Date(0));
      expect(grants).toMatchObject([{ userId: house.id, patientId: 'p-none' }]);
      await expect(v.vault.breakGlassGrants(house, new Date(0))).rejects.toMatchObject({ code: 'FORBIDDEN' });

      v.clock.advance(61 * 60_000);
      await expect(v.vault.read(house, 'Observation', 'o-none')).rejects.toMatchObject({ code: 'FORBIDDEN' });
      expect((await v.vault.verifyAudit()).ok).toBe(true);
    });

    it('break-the-glass overrides a consent denial, and says so in the audit', async () => {
      await v.vault.declareBreakGlass(house, 'p-consent', 'Anaphylaxis, need allergy history now');
      expect((await v.vault.read(house, 'Observation', 'o-consent')).id).toBe('o-consent');
      const audit = await v.vault.searchAuditEvents(officer, [['_count', '5']]);
      const read = audit.resources.find((e) => JSON.stringify(e).includes('Observation/o-consent'));
      expect(JSON.stringify(read)).toContain('Anaphylaxis');
    });

    it('the registering clinician cares for a new patient: registration and first notes in one transaction', async () => {
      const bundle = await v.vault.bundle(
        unlinked,
        {
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            {
              fullUrl: 'urn:uuid:6a1e0c5e-1d7b-4f7e-9a53-2b0f6b1b6c11',
              resource: { resourceType: 'Patient', name: [{ family: 'Walkin' }] },
              request: { method: 'POST', url: 'Patient' },
            },
            {
              resource: {
                ...observation('ignored', 'x'),
                id: undefined,
                subject: { reference: 'urn:uuid:6a1e0c5e-1d7b-4f7e-9a53-2b0f6b1b6c11' },
              },
              request: { method: 'POST', url: 'Observation' },
            },
          ],
        },
        'http://localhost/fhir',
      );
      const pid = String(
        (bundle.entry as Array<{ response: { location: string } }>)[0]!.response.location,
      ).split('/')[1]!;
      expect((await v.vault.read(unlinked, 'Patient', pid)).id).toBe(pid);
      const mine = await v.vault.search(unlinked, 'Patient', []);
      expect(mine.resources.map((r) => r.id)).toEqual([pid]);
      // Nobody else gains anything from it, and the window ends it.
      await expect(v.vault.read(cuddy, 'Patient', pid)).rejects.toMatchObject({ code: 'FORBIDDEN' });
      v.clock.advance(31 * 86_400_000);
      await expect(v.vault.read(unlinked, 'Patient', pid)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    });

    it('a new Encounter naming the clinician gives care once written by someone who may', async () => {
      await expect(v.vault.read(cuddy, 'Patient', 'p-open')).rejects.toMatchObject({ code: 'FORBIDDEN' });
      // House cares for p-open and adds Cuddy to an encounter: Cuddy gains access at once.
      await v.vault.create(
        house,
        encounter('ignored', 'p-open', { reference: 'Practitioner/cuddy' }, 'in-progress', {
          start: '2026-03-01T07:00:00Z',
        }),
        'Encounter',
      );
      expect((await v.vault.read(cuddy, 'Patient', 'p-open')).id).toBe('p-open');
      // A clinician may register a new patient (it holds nobody's data yet).
      const created = await v.vault.create(
        cuddy,
        { resourceType: 'Patient', name: [{ family: 'New' }] },
        'Patient',
      );
      expect(created.patientId).toBe(created.id);
    });

    it('creating the Patient record of someone whose results arrived first gives no access', async () => {
      await v.vault.importBatch(OP, [observation('o-orphan', 'p-orphan')]);
      await expect(
        v.vault.update(unlinked, 'Patient', 'p-orphan', { resourceType: 'Patient', id: 'p-orphan' }),
      ).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(v.vault.read(unlinked, 'Observation', 'o-orphan')).rejects.toMatchObject({
        code: 'FORBIDDEN',
      });
      // A truly new id is still open to registration.
      const fresh = await v.vault.update(unlinked, 'Patient', 'p-fresh', {
        resourceType: 'Patient',
        id: 'p-fresh',
      });
      expect(fresh.created).toBe(true);
    });

    it('unlinking a user removes their care at once', async () => {
      expect((await v.vault.read(house, 'Patient', 'p-open')).id).toBe('p-open');
      expect(await v.vault.unlinkStaff(OP, house.id)).toBe(true);
      await expect(v.vault.read(house, 'Patient', 'p-open')).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(v.vault.linkStaff(OP, house.id, 'no-such-practitioner')).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
      expect((await v.vault.staffLinks()).map((l) => l.userId)).toEqual([cuddy.id]);
    });
  });
}
