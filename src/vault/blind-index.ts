/**
 * @module vault/blind-index
 * Searching encrypted data: each normalised token (normalise.ts) is stored only as a keyed hash,
 *   token_hash = base64url(HMAC-SHA256(K, resourceType | param | token))[first 16 bytes]
 * with K = `keys.deriveKey('vault-blind-index')`, a key outside the database. A search computes
 * the same hash and looks it up by exact match.
 *
 * What a hash reveals, to someone with the database but not the key:
 * - equality: rows of one resource type and parameter with the same hash have the same normalised
 *   token (two patients share a family name, a birth year, a code). The type and parameter are in
 *   the HMAC input, so the same value under another parameter or type hashes differently and
 *   cannot be linked across them.
 * - frequency: how many resources share each token, so a frequency analysis against public
 *   statistics can guess the commonest values of low-entropy parameters. Per kind:
 *   - identifier: reveals which resources share an identifier; identifiers are near unique, so
 *     little beyond "same person/record" links.
 *   - token (codes, gender, status): low entropy; the distribution of codes is visible (the most
 *     frequent gender hash is probably "female", the commonest status "finished"). Guessable.
 *   - name: part frequencies (the commonest part hash is probably "maria" or "smith") and how many
 *     parts a name has (the number of rows per resource).
 *   - date: year, month and day tokens reveal which resources share a birth year, month or day, and
 *     the year distribution (an age profile) is guessable by frequency.
 *   - reference: which resources point at the same target (an Encounter's patient), i.e. the
 *     record graph, but not the target's identity beyond its opaque id.
 * What it does not reveal: the value itself (a keyed hash cannot be inverted or checked by
 *   dictionary without K), order or ranges (no comparison of hashes), substrings, or anything
 *   about values that nobody stored.
 *
 * Truncation to 128 bits: for 10^9 distinct tokens the chance of any collision is about 10^-21, so
 * a search never needs a decryption pass to filter false positives, while each row stores 22
 * characters instead of 43. Truncating further (deliberate collisions for k-anonymity) would hide
 * frequency a little but would make results wrong without a filter; not done.
 */
import { createHmac } from 'node:crypto';
import type { Kysely } from 'kysely';
import { VigilError } from '../core/index.js';
import { type AnyDb, compiledOnce, rowInserter } from '../platform/db/index.js';
import type { KeyRing } from '../platform/keys/index.js';
import { type IndexValue, normalise, type ParamKind } from './normalise.js';
import { type SearchRow, type VaultExecutor, type VaultTables, vaultDb } from './tables.js';

/** Bytes of HMAC kept per token (see the module comment). */
export const TOKEN_HASH_BYTES = 16;

/** How one search parameter is indexed. */
export interface SearchParamDef {
  kind: ParamKind;
  /** For references: the type a bare id names (`patient=123` → `Patient/123`). */
  target?: string;
}

/** Search parameters per resource type (`*` applies to every type not listed). */
export type SearchParamRegistry = Record<string, Record<string, SearchParamDef>>;

const clinical: Record<string, SearchParamDef> = {
  patient: { kind: 'reference', target: 'Patient' },
  subject: { kind: 'reference', target: 'Patient' },
  date: { kind: 'date' },
  code: { kind: 'token' },
};

/** The parameters of issue 3: Patient, Encounter, and the clinical resources. */
export const DEFAULT_SEARCH_PARAMS: SearchParamRegistry = {
  Patient: {
    identifier: { kind: 'identifier' },
    name: { kind: 'name' },
    family: { kind: 'name' },
    given: { kind: 'name' },
    birthdate: { kind: 'date' },
    gender: { kind: 'token' },
  },
  Encounter: {
    patient: { kind: 'reference', target: 'Patient' },
    subject: { kind: 'reference', target: 'Patient' },
    participant: { kind: 'reference', target: 'Practitioner' },
    date: { kind: 'date' },
    status: { kind: 'token' },
  },
  '*': clinical,
};

/** One value of one parameter of a resource, to index. */
export interface IndexEntry {
  param: string;
  value: IndexValue;
}

// Row inserts per statement: 4 parameters each, far below SQLite's 32,766.
const INSERT_CHUNK = 1000;

/** Writes and searches the blind indexes. */
export class BlindIndex {
  readonly #db: Kysely<VaultTables>;
  readonly #key: Buffer;
  readonly #params: SearchParamRegistry;
  readonly #insert = rowInserter(
    (db: Kysely<VaultTables>, row: SearchRow) => db.insertInto('vault_search').values(row),
    ['resource_type', 'resource_id', 'param', 'token_hash'],
  );
  readonly #find = compiledOnce((db: Kysely<VaultTables>, slot) =>
    db
      .selectFrom('vault_search')
      .select('resource_id')
      .where('resource_type', '=', slot('type'))
      .where('param', '=', slot('param'))
      .where('token_hash', '=', slot('hash'))
      .orderBy('resource_id'),
  );

  constructor(db: AnyDb, keys: KeyRing, params: SearchParamRegistry = DEFAULT_SEARCH_PARAMS) {
    this.#db = vaultDb(db);
    this.#key = keys.deriveKey('vault-blind-index');
    this.#params = params;
  }

  /** The definition of a parameter; BAD_REQUEST for an unsupported one (never a silent wrong answer). */
  param(resourceType: string, param: string): SearchParamDef {
    const defs = Object.hasOwn(this.#params, resourceType) ? this.#params[resourceType] : this.#params['*'];
    const def = defs && Object.hasOwn(defs, param) ? defs[param] : undefined;
    if (!def)
      throw new VigilError('BAD_REQUEST', `Search parameter ${param} is not supported on ${resourceType}`);
    return def;
  }

  /** The keyed hash of one token (exported for tests and diagnostics). */
  hash(resourceType: string, param: string, token: string): string {
    return createHmac('sha256', this.#key)
      .update(`${resourceType}|${param}|${token}`, 'utf8')
      .digest()
      .subarray(0, TOKEN_HASH_BYTES)
      .toString('base64url');
  }

  /** The hashes a resource's entries produce (validating every value first). */
  hashesOf(
    resourceType: string,
    entries: readonly IndexEntry[],
    /** Hashes already computed by this caller (a bulk write: years, codes and patients repeat). */
    memo?: Map<string, string>,
  ): Array<{ param: string; token_hash: string }> {
    const out = new Map<string, { param: string; token_hash: string }>();
    for (const entry of entries) {
      const def = this.param(resourceType, entry.param);
      for (const token of normalise[def.kind].index(entry.value, def.target)) {
        let token_hash: string | undefined;
        if (memo) {
          const at = `${resourceType}|${entry.param}|${token}`;
          token_hash = memo.get(at);
          if (token_hash === undefined) {
            token_hash = this.hash(resourceType, entry.param, token);
            memo.set(at, token_hash);
          }
        } else token_hash = this.hash(resourceType, entry.param, token);
        out.set(`${entry.param}|${token_hash}`, { param: entry.param, token_hash });
      }
    }
    return [...out.values()];
  }

  /**
   * Replaces the index rows of one resource with those of `entries`, in `exec`'s transaction when
   * given (so the resource and its index change together).
   */
  async indexResource(
    resource: { resourceType: string; id: string },
    entries: readonly IndexEntry[],
    exec?: VaultExecutor,
  ): Promise<void> {
    const rows = this.hashesOf(resource.resourceType, entries).map((h) => ({
      resource_type: resource.resourceType,
      resource_id: resource.id,
      ...h,
    }));
    const run = async (db: Kysely<VaultTables>) => {
      await this.#remove(db, resource.resourceType, [resource.id]);
      for (let i = 0; i < rows.length; i += INSERT_CHUNK)
        await this.#insert(db, rows.slice(i, i + INSERT_CHUNK));
    };
    if (exec) await run(vaultDb(exec));
    else await this.#db.transaction().execute(run);
  }

  /** Index rows of resources that have none yet (bulk import): one multi-row insert per chunk. */
  async indexNew(
    resources: ReadonlyArray<{ resourceType: string; id: string; entries: readonly IndexEntry[] }>,
    exec: VaultExecutor,
  ): Promise<void> {
    // Memoised for this call only: the tokens are patient data, not kept past the write.
    const memo = new Map<string, string>();
    const rows = resources.flatMap((r) =>
      this.hashesOf(r.resourceType, r.entries, memo).map((h) => ({
        resource_type: r.resourceType,
        resource_id: r.id,
        ...h,
      })),
    );
    const db = vaultDb(exec);
    for (let i = 0; i < rows.length; i += INSERT_CHUNK)
      await this.#insert(db, rows.slice(i, i + INSERT_CHUNK));
  }

  /** Removes the index rows of resources (on delete or erasure). */
  async removeResources(resourceType: string, ids: readonly string[], exec?: VaultExecutor): Promise<void> {
    await this.#remove(exec ? vaultDb(exec) : this.#db, resourceType, ids);
  }

  async #remove(db: Kysely<VaultTables>, resourceType: string, ids: readonly string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += INSERT_CHUNK) {
      await db
        .deleteFrom('vault_search')
        .where('resource_type', '=', resourceType)
        .where('resource_id', 'in', ids.slice(i, i + INSERT_CHUNK))
        .execute();
    }
  }

  /** Ids of the resources of a type whose parameter has the searched value, sorted. */
  async findIds(resourceType: string, param: string, value: string, exec?: VaultExecutor): Promise<string[]> {
    const def = this.param(resourceType, param);
    const token = normalise[def.kind].query(value, def.target);
    const rows = await this.#find(exec ? vaultDb(exec) : this.#db, {
      type: resourceType,
      param,
      hash: this.hash(resourceType, param, token),
    });
    return rows.map((r) => r.resource_id);
  }
}
