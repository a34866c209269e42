/**
 * @module devices/edits
 * What people change by hand: a device's type, criticality, owner, location and notes, one at a
 * time (console, API) or many from a CMMS export (CSV). Kept in `devices_manual`, apart from what
 * detection derives, and applied to the device's type and criticality at once and again every
 * time the ingest reclassifies it, so an edit survives re-detection. A CSV import is checked row by
 * row first and written in one transaction only when every row is good: nothing is half-imported.
 */
import type { Kysely, Transaction } from 'kysely';
import { type Clock, type CsvSource, readCsv, VigilError } from '../core/index.js';
import { type AttributeView, type Classifier, CRITICALITIES } from './classify.js';
import { derive, isCriticality, isDeviceType } from './manual.js';
import { CRITICALITY_RENAMES, type DeviceRow, type DeviceTables, type ManualRow } from './tables.js';
import { stripControl } from './values.js';

/** What may be changed; `null` or '' clears a field (type and criticality then return to detection). */
export interface ManualPatch {
  type?: string | null;
  criticality?: string | null;
  owner?: string | null;
  location?: string | null;
  notes?: string | null;
}

/** The manual fields of a device as the API shows them. */
export interface ManualView {
  type: string | null;
  criticality: string | null;
  owner: string | null;
  location: string | null;
  notes: string | null;
  updatedBy: string;
  updatedAt: string;
}

export const MANUAL_LIMITS = { owner: 200, location: 200, notes: 4000 } as const;

/** One problem of one CSV row (row 1 is the header). */
export interface ImportRowError {
  row: number;
  field: string;
  message: string;
}

export interface ImportSummary {
  rows: number;
  updated: number;
  unchanged: number;
  ignoredColumns: string[];
}

const MAX_REPORTED_ERRORS = 200;
/** Rows of one CMMS import (a large hospital has tens of thousands of devices). */
const MAX_IMPORT_ROWS = 100_000;
const IMPORT_BYTES = 16 * 1024 * 1024;

/** Export columns, in order. `type`/`criticality` are what the inventory uses; `manual_*` what a person set. */
export const EXPORT_COLUMNS = [
  'id',
  'mac',
  'ip',
  'name',
  'vendor',
  'model',
  'type',
  'criticality',
  'manual_type',
  'manual_criticality',
  'owner',
  'location',
  'notes',
  'first_seen',
  'last_seen',
] as const;

type Field = 'type' | 'criticality' | 'owner' | 'location' | 'notes';
type MatchKey = 'id' | 'mac' | 'ip';

/** Import header names → what they mean. `manual_type` wins over `type` when both are there. */
const IMPORT_COLUMNS: Record<string, MatchKey | Field | 'manual_type' | 'manual_criticality'> = {
  id: 'id',
  mac: 'mac',
  ip: 'ip',
  type: 'type',
  criticality: 'criticality',
  manual_type: 'manual_type',
  manual_criticality: 'manual_criticality',
  owner: 'owner',
  location: 'location',
  notes: 'notes',
};

export function viewOfManual(m: ManualRow): ManualView {
  return {
    type: m.type,
    criticality: m.criticality,
    owner: m.owner,
    location: m.location,
    notes: m.notes,
    updatedBy: m.updated_by,
    updatedAt: m.updated_at,
  };
}

/** Text a person typed, made safe to store: control characters removed (notes keep line breaks). */
function cleanInput(v: string, multiline: boolean): string | null {
  const s = multiline
    ? v
        .replace(/\r\n?/g, '\n')
        .split('\n')
        .map((line) => stripControl(line).trimEnd())
        .join('\n')
        .trim()
    : stripControl(v).trim();
  return s ? s : null;
}

/** Checks one field's value; returns the value to store or an error message. */
function checkField(field: Field, raw: string | null): { value: string | null } | { error: string } {
  if (raw === null) return { value: null };
  if (field === 'type') {
    const v = raw.trim().toLowerCase();
    if (!v) return { value: null };
    return isDeviceType(v) ? { value: v } : { error: `unknown device type "${raw.slice(0, 40)}"` };
  }
  if (field === 'criticality') {
    const v = raw.trim().toLowerCase();
    if (!v) return { value: null };
    if (isCriticality(v)) return { value: v };
    // A file exported before the scale changed: name the new value rather than guess.
    const renamed = CRITICALITY_RENAMES.find(([from]) => from === v)?.[1];
    return {
      error: renamed
        ? `unknown criticality "${raw.slice(0, 40)}" (now "${renamed}"; the scale is ${CRITICALITIES.join(', ')})`
        : `unknown criticality "${raw.slice(0, 40)}"`,
    };
  }
  const v = cleanInput(raw, field === 'notes');
  if (v && v.length > MANUAL_LIMITS[field])
    return { error: `longer than ${MANUAL_LIMITS[field]} characters` };
  return { value: v };
}

function csvCell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  let s = String(v);
  // A cell a spreadsheet would run as a formula is prefixed with a quote (CSV injection).
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Hand edits of the inventory and the CMMS CSV import and export. */
export class DeviceEdits {
  readonly #db: Kysely<DeviceTables>;
  constructor(
    db: Kysely<DeviceTables>,
    private readonly clock: Clock,
    private readonly classifier: Classifier,
  ) {
    this.#db = db;
  }

  /** The manual fields of a device, if any were set. */
  async manual(deviceId: string): Promise<ManualView | null> {
    const m = await this.#db
      .selectFrom('devices_manual')
      .selectAll()
      .where('device_id', '=', deviceId)
      .executeTakeFirst();
    return m ? viewOfManual(m) : null;
  }

  /**
   * Changes a device's manual fields (only those in `patch`); applies type and criticality at once.
   * Throws NOT_FOUND for an unknown device and BAD_REQUEST naming the field for a bad value.
   */
  async update(deviceId: string, patch: ManualPatch, actor: string): Promise<ManualView> {
    const values: Partial<Record<Field, string | null>> = {};
    for (const field of ['type', 'criticality', 'owner', 'location', 'notes'] as const) {
      const raw = patch[field];
      if (raw === undefined) continue;
      const checked = checkField(field, raw);
      if ('error' in checked)
        throw new VigilError('BAD_REQUEST', `body.${field}: ${checked.error}`, {
          details: { field: `body.${field}` },
        });
      values[field] = checked.value;
    }
    return this.#db.transaction().execute(async (trx) => {
      const device = await trx
        .selectFrom('devices')
        .select('id')
        .where('id', '=', deviceId)
        .executeTakeFirst();
      if (!device) throw new VigilError('NOT_FOUND', 'No such device.');
      const row = await this.write(trx, deviceId, values, actor);
      await this.rederive(trx, [deviceId]);
      return viewOfManual(row);
    });
  }

  /** The whole inventory as CSV (one line per device, the header first). */
  async exportCsv(): Promise<string> {
    const lines = [EXPORT_COLUMNS.join(',')];
    let after = '';
    for (;;) {
      const rows = await this.#db
        .selectFrom('devices as d')
        .leftJoin('devices_manual as m', 'm.device_id', 'd.id')
        .select([
          'd.id',
          'd.mac',
          'd.ip',
          'd.name',
          'd.vendor',
          'd.model',
          'd.type',
          'd.criticality',
          'm.type as manual_type',
          'm.criticality as manual_criticality',
          'm.owner',
          'm.location',
          'm.notes',
          'd.first_seen',
          'd.last_seen',
        ])
        .where('d.id', '>', after)
        .orderBy('d.id')
        .limit(1000)
        .execute();
      for (const r of rows) lines.push(EXPORT_COLUMNS.map((c) => csvCell(r[c])).join(','));
      if (rows.length < 1000) break;
      after = rows[rows.length - 1]!.id;
    }
    return `${lines.join('\r\n')}\r\n`;
  }

  /**
   * Imports manual fields from CSV (a CMMS export, or this inventory's own export). Each row names
   * its device by `id`, `mac` or `ip` (the first given); the other known columns set fields, an
   * empty cell clears one, a column left out leaves it as it is. Every row is checked first; if any
   * has a problem, nothing is written and the error lists the rows.
   */
  async importCsv(source: CsvSource, actor: string): Promise<ImportSummary> {
    const records = await readCsv(source, { maxBytes: IMPORT_BYTES, maxRecords: MAX_IMPORT_ROWS + 1 });
    const header = records[0];
    if (!header)
      throw new VigilError('BAD_REQUEST', 'The CSV file is empty', { details: { row: 1, field: 'file' } });
    const columns = new Map<string, number>();
    const ignored: string[] = [];
    header.fields.forEach((name, i) => {
      const key = name
        .trim()
        .toLowerCase()
        .replace(/[\s-]+/g, '_');
      const meaning = IMPORT_COLUMNS[key];
      if (!meaning) {
        if (name.trim()) ignored.push(name.trim().slice(0, 60));
        return;
      }
      if (columns.has(meaning))
        throw new VigilError('BAD_REQUEST', `CSV header: the column ${key} appears twice`, {
          details: { row: 1, field: key },
        });
      columns.set(meaning, i);
    });
    // `type`/`criticality` are the effective values in our own export; manual_* are what to set.
    const source_ = (f: 'type' | 'criticality') => columns.get(`manual_${f}`) ?? columns.get(f);
    const fieldColumns: Array<[Field, number]> = [];
    for (const f of ['type', 'criticality'] as const) {
      const at = source_(f);
      if (at !== undefined) fieldColumns.push([f, at]);
    }
    if (columns.has('manual_type') && columns.has('type')) ignored.push('type');
    if (columns.has('manual_criticality') && columns.has('criticality')) ignored.push('criticality');
    for (const f of ['owner', 'location', 'notes'] as const) {
      const at = columns.get(f);
      if (at !== undefined) fieldColumns.push([f, at]);
    }
    const keys = (['id', 'mac', 'ip'] as const).filter((k) => columns.has(k));
    if (!keys.length)
      throw new VigilError('BAD_REQUEST', 'CSV header: needs an id, mac or ip column to find each device', {
        details: { row: 1, field: 'id' },
      });
    if (!fieldColumns.length)
      throw new VigilError(
        'BAD_REQUEST',
        'CSV header: no column to import (type, criticality, owner, location or notes)',
        { details: { row: 1, field: 'file' } },
      );

    const errors: ImportRowError[] = [];
    const rows: Array<{
      row: number;
      key: MatchKey;
      ref: string;
      values: Partial<Record<Field, string | null>>;
    }> = [];
    for (const r of records.slice(1)) {
      if (r.fields.length > header.fields.length) {
        errors.push({ row: r.row, field: 'file', message: 'more cells than the header has columns' });
        continue;
      }
      const cell = (i: number) => r.fields[i] ?? '';
      const key = keys.find((k) => cell(columns.get(k)!).trim() !== '');
      if (!key) {
        errors.push({ row: r.row, field: keys.join('/'), message: 'no id, mac or ip to find the device' });
        continue;
      }
      const values: Partial<Record<Field, string | null>> = {};
      let bad = false;
      for (const [f, at] of fieldColumns) {
        const checked = checkField(f, cell(at));
        if ('error' in checked) {
          errors.push({ row: r.row, field: f, message: checked.error });
          bad = true;
        } else values[f] = checked.value;
      }
      if (!bad) rows.push({ row: r.row, key, ref: cell(columns.get(key)!).trim(), values });
    }

    const now = this.clock.now().toISOString();
    return this.#db.transaction().execute(async (trx) => {
      const found = await this.findAll(trx, rows);
      const byDevice = new Map<string, number>();
      const targets: Array<{ deviceId: string; values: Partial<Record<Field, string | null>> }> = [];
      for (const r of rows) {
        const id = found.get(`${r.key}\0${r.key === 'id' ? r.ref : r.ref.toLowerCase()}`);
        if (!id) {
          errors.push({ row: r.row, field: r.key, message: `no device with this ${r.key} in the inventory` });
          continue;
        }
        const earlier = byDevice.get(id);
        if (earlier !== undefined) {
          errors.push({ row: r.row, field: r.key, message: `the same device as row ${earlier}` });
          continue;
        }
        byDevice.set(id, r.row);
        targets.push({ deviceId: id, values: r.values });
      }
      if (errors.length) {
        errors.sort((a, b) => a.row - b.row);
        const first = errors[0]!;
        throw new VigilError(
          'BAD_REQUEST',
          `CSV import refused: ${errors.length} problem${errors.length === 1 ? '' : 's'}, nothing was imported (first: row ${first.row}, ${first.field}: ${first.message})`,
          {
            details: {
              field: 'file',
              errorCount: errors.length,
              errors: errors.slice(0, MAX_REPORTED_ERRORS),
            },
          },
        );
      }
      const existing = new Map<string, ManualRow>();
      for (let i = 0; i < targets.length; i += 500) {
        const part = targets.slice(i, i + 500).map((t) => t.deviceId);
        for (const m of await trx
          .selectFrom('devices_manual')
          .selectAll()
          .where('device_id', 'in', part)
          .execute())
          existing.set(m.device_id, m);
      }
      let updated = 0;
      const changedIds: string[] = [];
      for (const t of targets) {
        const cur = existing.get(t.deviceId);
        const same = (Object.keys(t.values) as Field[]).every((f) => (cur?.[f] ?? null) === t.values[f]);
        if (same) continue;
        await this.write(trx, t.deviceId, t.values, actor, now);
        changedIds.push(t.deviceId);
        updated++;
      }
      await this.rederive(trx, changedIds);
      return { rows: rows.length, updated, unchanged: rows.length - updated, ignoredColumns: ignored };
    });
  }

  /** Device ids of the rows' references (`key\0ref` → id). */
  private async findAll(
    trx: Transaction<DeviceTables>,
    rows: ReadonlyArray<{ key: MatchKey; ref: string }>,
  ): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const key of ['id', 'mac', 'ip'] as const) {
      const refs = [
        ...new Set(
          rows.filter((r) => r.key === key).map((r) => (key === 'id' ? r.ref : r.ref.toLowerCase())),
        ),
      ];
      for (let i = 0; i < refs.length; i += 500) {
        const found = await trx
          .selectFrom('devices')
          .select(['id', 'mac', 'ip', 'last_seen'])
          .where(key, 'in', refs.slice(i, i + 500))
          .orderBy('last_seen', 'asc')
          .execute();
        // Latest seen wins when two devices held one address.
        for (const d of found) out.set(`${key}\0${d[key]}`, d.id);
      }
    }
    return out;
  }

  private async write(
    trx: Transaction<DeviceTables>,
    deviceId: string,
    values: Partial<Record<Field, string | null>>,
    actor: string,
    now = this.clock.now().toISOString(),
  ): Promise<ManualRow> {
    const row: ManualRow = {
      device_id: deviceId,
      type: null,
      criticality: null,
      owner: null,
      location: null,
      notes: null,
      ...values,
      updated_by: actor,
      updated_at: now,
    };
    const stored = await trx
      .insertInto('devices_manual')
      .values(row)
      .onConflict((oc) =>
        oc.column('device_id').doUpdateSet({ ...values, updated_by: actor, updated_at: now }),
      )
      .returningAll()
      .executeTakeFirstOrThrow();
    return stored;
  }

  /** Re-derives type and criticality of these devices from their attributes and manual rows. */
  private async rederive(trx: Transaction<DeviceTables>, ids: readonly string[]): Promise<void> {
    const now = this.clock.now().toISOString();
    for (let i = 0; i < ids.length; i += 200) {
      const part = ids.slice(i, i + 200);
      const attrs = await trx
        .selectFrom('devices_attributes')
        .select(['device_id', 'name', 'value', 'source', 'evidence', 'confidence'])
        .where('device_id', 'in', part)
        .execute();
      const manual = await trx
        .selectFrom('devices_manual')
        .selectAll()
        .where('device_id', 'in', part)
        .execute();
      const byDevice = new Map<string, AttributeView[]>();
      for (const a of attrs) {
        const list = byDevice.get(a.device_id) ?? [];
        list.push({ ...a, confidence: Number(a.confidence) });
        byDevice.set(a.device_id, list);
      }
      const m = new Map(manual.map((x) => [x.device_id, x]));
      for (const id of part) {
        const next: Partial<DeviceRow> = {
          ...derive(byDevice.get(id) ?? [], m.get(id), this.classifier),
          updated_at: now,
        };
        await trx.updateTable('devices').set(next).where('id', '=', id).execute();
      }
    }
  }
}
