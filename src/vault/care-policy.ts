/**
 * @module vault/care-policy
 * Care-based access, the policy the server uses:
 *
 * 1. Roles first (`roleDecision`): only clinicians reach clinical data; privacy officers read
 *    the audit trail; admins nothing (separation of duties).
 * 2. Shared resources (Practitioner, Organization, Location, …) are open to clinicians, and a
 *    clinician may register a new Patient while nothing is stored under that patient id yet.
 * 3. A clinician reaches a patient's records when they care for the patient — a participant of
 *    an Encounter of the patient that is open or within the window (default 30 days), or a member
 *    of an active CareTeam (care-rules.ts) — and no active Consent of the patient denies them,
 *    their PractitionerRole or its Organization.
 *    The clinician who registered the patient (created its Patient record, version 1) within the
 *    window cares for them too: registration and the first notes often come in one transaction.
 * 4. Otherwise a live break-the-glass grant allows it, marked in every audit entry with its
 *    reason. Break-the-glass also overrides a Consent denial: it exists for emergencies, and every
 *    use is reviewed by the privacy officer.
 * 5. Otherwise: `needs-break-glass` (the clinician may declare an emergency).
 *
 * Who the clinician is in FHIR comes from their staff link (staff-links.ts): the Practitioner, its
 * identifiers (Synthea and many feeds name participants by NPI, `Practitioner?identifier=…`) and
 * its PractitionerRoles. The relationships are found through the blind indexes (participant and
 * participant-identifier) and checked on the decrypted resources.
 *
 * Caching: a clinician's cared-for set and a patient's Consents are cached for `cacheMs`
 * (default 15 s, bounded LRUs). A committed write of Encounter, CareTeam, Consent, Practitioner
 * or PractitionerRole in this process clears them at once; other server processes see the change
 * within `cacheMs`. Grants are never cached: a grant made through one process works at once in
 * every process.
 */
import type { Kysely } from 'kysely';
import type { Clock } from '../core/index.js';
import type { KeyRing } from '../platform/keys/index.js';
import {
  type AccessDecision,
  type AccessPolicy,
  type AccessQuestion,
  ALLOW,
  roleDecision,
  type VaultPrincipal,
} from './access-policy.js';
import type { BlindIndex } from './blind-index.js';
import { activeGrant, grantedPatients } from './break-glass.js';
import {
  type ActorNames,
  careTeamGivesCare,
  consentDenies,
  encounterGivesCare,
  identifiersOf,
  OPEN_ENCOUNTER_STATUSES,
  participates,
} from './care-rules.js';
import type { FhirResource } from './fhir-types.js';
import { LruCache } from './lru.js';
import type { PatientRefHasher } from './patient-ref.js';
import type { FhirRepository } from './repository.js';
import { practitionerOf } from './staff-links.js';
import type { VaultTables } from './tables.js';

/** Options of the care policy. */
export interface CarePolicyOptions {
  /** How far back a finished Encounter still gives care, in days (default 30). */
  windowDays?: number;
  /** How long a cared-for set and a patient's Consents are reused (default 15 s). */
  cacheMs?: number;
}

/** What the care policy reads. */
export interface CarePolicyDeps {
  repo: FhirRepository;
  index: BlindIndex;
  keys: KeyRing;
  clock: Clock;
  patientRef: PatientRefHasher;
}

interface Care {
  /** Null when the user is linked to no Practitioner. */
  actor: ActorNames | null;
  patients: ReadonlySet<string>;
}

const DAY_MS = 86_400_000;
/** Above this many Encounters of one clinician, narrow by the date and status indexes first. */
const NARROW_ABOVE = 200;
const RELATIONSHIP_TYPES = new Set(['Patient', 'Encounter', 'CareTeam', 'Practitioner', 'PractitionerRole']);

const NO_CARE: Care = { actor: null, patients: new Set() };
const NO_ONE: ActorNames = { references: new Set(), identifiers: new Set() };

/** The care-relationship access policy (see the module comment). */
export class CarePolicy implements AccessPolicy {
  readonly #deps: CarePolicyDeps;
  readonly #windowMs: number;
  readonly #care: LruCache<string, Care>;
  readonly #consents: LruCache<string, FhirResource[]>;
  /** Care sets being computed, by user (see `#careOf`). */
  readonly #computing = new Map<string, Promise<Care>>();
  /** Bumped when relationships change: a computation that started before is not cached. */
  #generation = 0;

  constructor(deps: CarePolicyDeps, options: CarePolicyOptions = {}) {
    this.#deps = deps;
    this.#windowMs = (options.windowDays ?? 30) * DAY_MS;
    const maxAgeMs = options.cacheMs ?? 15_000;
    const now = () => deps.clock.now().getTime();
    this.#care = new LruCache({ maxEntries: 5_000, maxAgeMs, now });
    this.#consents = new LruCache({ maxEntries: 20_000, maxAgeMs, now });
  }

  async decide(q: AccessQuestion, db: Kysely<VaultTables>): Promise<AccessDecision> {
    const byRole = roleDecision(q);
    if (byRole) return byRole;
    if (q.patientId === null) return ALLOW;
    if (q.resourceType === 'Patient' && q.action === 'create' && !(await this.#hasRecords(q.patientId, db)))
      return ALLOW;
    const care = await this.#careOf(q.principal.id, db);
    const cares = care.patients.has(q.patientId);
    if (cares && !(await this.#denied(q.patientId, care.actor ?? NO_ONE, db))) return ALLOW;
    const now = this.#deps.clock.now().toISOString();
    if (
      !cares &&
      (await this.#registered(q.principal.id, q.patientId, db)) &&
      !(await this.#denied(q.patientId, care.actor ?? NO_ONE, db))
    )
      return ALLOW;
    const grant = await activeGrant(db, this.#deps.keys, q.principal.id, q.patientId, now);
    if (grant) return { effect: 'allow', breakGlass: { reason: grant.reason } };
    return {
      effect: 'needs-break-glass',
      why: cares
        ? "The patient's consent denies you access to their records; in an emergency, declare it (break-the-glass)"
        : care.actor === null
          ? 'Your account is not linked to a practitioner, so you have no care relationships; ask an administrator to link it, or in an emergency declare it (break-the-glass)'
          : 'You have no care relationship with this patient; in an emergency, declare it (break-the-glass)',
    };
  }

  async visiblePatients(
    principal: VaultPrincipal,
    db: Kysely<VaultTables>,
  ): Promise<ReadonlySet<string> | null> {
    if (principal.role !== 'clinician') return new Set();
    const care = await this.#careOf(principal.id, db);
    const granted = await grantedPatients(db, principal.id, this.#deps.clock.now().toISOString());
    return granted.length ? new Set([...care.patients, ...granted]) : care.patients;
  }

  changed(resourceTypes: ReadonlySet<string>): void {
    if ([...resourceTypes].some((t) => RELATIONSHIP_TYPES.has(t))) {
      this.#care.clear();
      this.#computing.clear();
      this.#generation++;
    }
    if (resourceTypes.has('Consent') || resourceTypes.has('PractitionerRole')) this.#consents.clear();
  }

  /**
   * Whether anything is stored under this patient yet. Registering a patient is open to every
   * clinician only while the record is empty: creating the Patient resource of someone whose
   * results arrived first must not make the creator their "registering clinician".
   */
  async #hasRecords(patientId: string, db: Kysely<VaultTables>): Promise<boolean> {
    const owner = `Patient/${patientId}`;
    const row =
      (await db
        .selectFrom('vault_current')
        .select('id')
        .where('key_owner', '=', owner)
        .limit(1)
        .executeTakeFirst()) ??
      (await db.selectFrom('vault_data_keys').select('owner').where('owner', '=', owner).executeTakeFirst());
    return row !== undefined;
  }

  /** Forgets one user's cached care (their staff link changed). */
  forgetUser(userId: string): void {
    this.#care.delete(userId);
    this.#computing.delete(userId);
    this.#generation++;
  }

  async #careOf(userId: string, db: Kysely<VaultTables>): Promise<Care> {
    const cached = this.#care.get(userId);
    if (cached) return cached;
    // Concurrent requests of one user outside a transaction (reads and searches) share one
    // computation instead of each recomputing the same set when the cached one expires. A caller
    // in a transaction computes its own: on SQLite a shared computation on the database would
    // wait for that transaction, which would be waiting for it.
    if (db.isTransaction) return this.#storeCare(userId, await this.#computeCare(userId, db));
    let pending = this.#computing.get(userId);
    if (!pending) {
      const generation = this.#generation;
      const computing: Promise<Care> = this.#computeCare(userId, db)
        .then((care) => (generation === this.#generation ? this.#storeCare(userId, care) : care))
        .finally(() => {
          if (this.#computing.get(userId) === computing) this.#computing.delete(userId);
        });
      pending = computing;
      this.#computing.set(userId, computing);
    }
    return pending;
  }

  #storeCare(userId: string, care: Care): Care {
    this.#care.set(userId, care);
    return care;
  }

  async #actorOf(practitionerId: string, db: Kysely<VaultTables>): Promise<ActorNames> {
    const { repo, index } = this.#deps;
    const references = new Set([`Practitioner/${practitionerId}`]);
    const [practitioner] = await repo.currentMany(db, 'Practitioner', [practitionerId]);
    const identifiers = new Set(practitioner ? identifiersOf(practitioner.resource) : []);
    const roleIds = await index.findIds(
      'PractitionerRole',
      'practitioner',
      `Practitioner/${practitionerId}`,
      db,
    );
    for (const role of await repo.currentMany(db, 'PractitionerRole', roleIds)) {
      references.add(`PractitionerRole/${role.id}`);
      const org = (role.resource.organization as { reference?: unknown } | undefined)?.reference;
      if (typeof org === 'string' && /^Organization\/[A-Za-z0-9\-.]{1,64}$/.test(org)) references.add(org);
    }
    return { references, identifiers };
  }

  /** Ids of a type's resources that name the actor as a participant (index hits; verified later). */
  async #participantIds(type: string, actor: ActorNames, db: Kysely<VaultTables>): Promise<Set<string>> {
    const { index } = this.#deps;
    const ids = new Set<string>();
    for (const ref of actor.references) {
      if (ref.startsWith('Organization/')) continue;
      for (const id of await index.findIds(type, 'participant', ref, db)) ids.add(id);
    }
    for (const key of actor.identifiers)
      for (const id of await index.findIds(type, 'participant-identifier', key, db)) ids.add(id);
    return ids;
  }

  /** Encounter ids that are open or dated within the window (a superset; checked decrypted). */
  async #recentEncounterIds(db: Kysely<VaultTables>): Promise<Set<string>> {
    const { index, clock } = this.#deps;
    const ids = new Set<string>();
    for (const status of OPEN_ENCOUNTER_STATUSES)
      for (const id of await index.findIds('Encounter', 'status', status, db)) ids.add(id);
    const now = clock.now().getTime();
    const byMonth = this.#windowMs > 62 * DAY_MS;
    const tokens = new Set<string>();
    // One day of margin on each side: index tokens are the source's local days.
    for (let t = now - this.#windowMs - DAY_MS; t <= now + DAY_MS; t += DAY_MS)
      tokens.add(new Date(t).toISOString().slice(0, byMonth ? 7 : 10));
    tokens.add(new Date(now + DAY_MS).toISOString().slice(0, byMonth ? 7 : 10));
    for (const token of tokens)
      for (const id of await index.findIds('Encounter', 'date', token, db)) ids.add(id);
    return ids;
  }

  /** Since when a registration still gives care (the window), as the audit trail writes times. */
  #windowStart(): string {
    return new Date(this.#deps.clock.now().getTime() - this.#windowMs).toISOString();
  }

  /** Whether the user created this patient's Patient record within the window (from the audit trail). */
  async #registered(userId: string, patientId: string, db: Kysely<VaultTables>): Promise<boolean> {
    const row = await db
      .selectFrom('vault_audit')
      .select('seq')
      .where('patient_ref', '=', this.#deps.patientRef(patientId))
      .where('actor_id', '=', userId)
      .where('action', '=', 'create')
      .where('outcome', '=', 'success')
      .where('resources', '=', JSON.stringify([`Patient/${patientId}/_history/1`]))
      .where('time', '>=', this.#windowStart())
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Patients the user registered within the window. */
  async #registeredPatients(userId: string, db: Kysely<VaultTables>): Promise<string[]> {
    const rows = await db
      .selectFrom('vault_audit')
      .select('resources')
      .where('actor_id', '=', userId)
      .where('action', '=', 'create')
      .where('outcome', '=', 'success')
      .where('time', '>=', this.#windowStart())
      .where('resources', 'like', '["Patient/%/_history/1"]')
      .execute();
    return rows.flatMap(
      (r) => /^\["Patient\/([A-Za-z0-9\-.]{1,64})\/_history\/1"\]$/.exec(r.resources)?.[1] ?? [],
    );
  }

  async #computeCare(userId: string, db: Kysely<VaultTables>): Promise<Care> {
    const registered = await this.#registeredPatients(userId, db);
    const practitionerId = await practitionerOf(db, userId);
    if (practitionerId === null)
      return registered.length ? { actor: null, patients: new Set(registered) } : NO_CARE;
    const { repo, clock } = this.#deps;
    const actor = await this.#actorOf(practitionerId, db);
    const now = clock.now().getTime();
    const patients = new Set<string>(registered);

    let encounterIds = await this.#participantIds('Encounter', actor, db);
    if (encounterIds.size > NARROW_ABOVE) {
      const recent = await this.#recentEncounterIds(db);
      encounterIds = new Set([...encounterIds].filter((id) => recent.has(id)));
    }
    for (const e of await repo.currentMany(db, 'Encounter', [...encounterIds]))
      if (
        e.patientId !== null &&
        participates(e.resource, actor) &&
        encounterGivesCare(e.resource, now, this.#windowMs)
      )
        patients.add(e.patientId);

    const teamIds = await this.#participantIds('CareTeam', actor, db);
    for (const t of await repo.currentMany(db, 'CareTeam', [...teamIds]))
      if (t.patientId !== null && participates(t.resource, actor) && careTeamGivesCare(t.resource, now))
        patients.add(t.patientId);
    return { actor, patients };
  }

  async #denied(patientId: string, actor: ActorNames, db: Kysely<VaultTables>): Promise<boolean> {
    let consents = this.#consents.get(patientId);
    if (!consents) {
      const ids = await this.#deps.index.findIds('Consent', 'patient', `Patient/${patientId}`, db);
      consents = (await this.#deps.repo.currentMany(db, 'Consent', ids))
        .map((v) => v.resource)
        .filter((c) => c.status === 'active');
      this.#consents.set(patientId, consents);
    }
    const now = this.#deps.clock.now().getTime();
    return consents.some((c) => consentDenies(c, actor, now));
  }
}
