/**
 * @module devices/tables
 * Row types and migrations of the device inventory. Times are ISO-8601 UTC text on both engines;
 * table names carry the `devices_` prefix so the domain's tables are recognisable in a shared
 * database. Append new migrations; never edit an applied one.
 */
import type { Kysely } from 'kysely';
import type { Migration } from '../platform/db/index.js';

/** One device: keyed by MAC, or by IP when no MAC was ever visible. Summary columns are derived. */
export type DeviceRow = {
  /** `dev_` + a hash of the key, so two workers creating the same device agree on its id. */
  id: string;
  /** `mac:aa:bb:…` or `ip:10.1.2.3`. */
  key: string;
  mac: string | null;
  /** The address the device holds now (follows DHCP). */
  ip: string | null;
  /** Best display name (hostname, AE title, station name, HL7 application), derived. */
  name: string | null;
  vendor: string | null;
  model: string | null;
  type: string;
  type_confidence: number;
  /** JSON: `{ rule, reason, evidence[] }`. */
  type_reason: string;
  criticality: string;
  /** 4 life-sustaining … 1 business, for sorting. */
  criticality_rank: number;
  criticality_reason: string;
  first_seen: string;
  last_seen: string;
  updated_at: string;
};

/** Every attribute value a device showed, with where it came from and how sure we are. */
export type AttributeRow = {
  device_id: string;
  name: string;
  value: string;
  /** `sensor`, `zeek`, `oui`, `inventory`. */
  source: string;
  /** What showed it: an event kind and detail (`net.dicom.association A-ASSOCIATE-RQ`). */
  evidence: string;
  confidence: number;
  first_seen: string;
  last_seen: string;
  count: number;
};

/** The communication map: one row per hour, source, destination and service. */
export type EdgeRow = {
  /** Start of the hour, ISO. */
  hour: string;
  src_ip: string;
  dst_ip: string;
  dst_port: number;
  transport: string;
  /** Application protocol, '' when unknown (keys cannot be null on PostgreSQL). */
  app: string;
  src_device_id: string | null;
  /** Null when the destination is an external address. */
  dst_device_id: string | null;
  /** Flow records (net.flow, Zeek conn) only, so app logs of the same traffic never count twice. */
  connections: number;
  packets: number;
  bytes: number;
  /** Application records (DNS queries, TLS handshakes, DICOM commands, HL7 messages). */
  observations: number;
};

/** A finding raised from sensor data; one row per finding key, counted when it recurs. */
export type FindingRow = {
  id: string;
  kind: string;
  key: string;
  device_id: string | null;
  severity: string;
  summary: string;
  evidence: string;
  first_seen: string;
  last_seen: string;
  count: number;
};

/** Event ids already applied: the bus delivers at least once. */
export type SeenRow = { event_id: string; seen_at: string };

/**
 * What a person set by hand (console, API, CMMS import): kept apart from what detection derives,
 * so re-detection never overwrites it. Null fields are not set (detection decides type and criticality).
 */
export type ManualRow = {
  device_id: string;
  type: string | null;
  criticality: string | null;
  owner: string | null;
  location: string | null;
  notes: string | null;
  /** Username of who changed it last, and when. */
  updated_by: string;
  updated_at: string;
};

export type DeviceTables = {
  devices: DeviceRow;
  devices_attributes: AttributeRow;
  devices_edges: EdgeRow;
  devices_findings: FindingRow;
  devices_seen_events: SeenRow;
  devices_manual: ManualRow;
};

/** Old criticality values and the new ones they became (migration devices-0003). */
export const CRITICALITY_RENAMES: ReadonlyArray<readonly [string, string]> = [
  ['life-critical', 'life-sustaining'],
  ['high', 'patient-care'],
  ['medium', 'clinical-support'],
  ['low', 'business'],
];

export const devicesMigrations: Migration[] = [
  {
    id: 'devices-0001-inventory',
    async up(db) {
      await db.schema
        .createTable('devices')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('key', 'text', (c) => c.notNull().unique())
        .addColumn('mac', 'text')
        .addColumn('ip', 'text')
        .addColumn('name', 'text')
        .addColumn('vendor', 'text')
        .addColumn('model', 'text')
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('type_confidence', 'real', (c) => c.notNull())
        .addColumn('type_reason', 'text', (c) => c.notNull())
        .addColumn('criticality', 'text', (c) => c.notNull())
        .addColumn('criticality_rank', 'integer', (c) => c.notNull())
        .addColumn('criticality_reason', 'text', (c) => c.notNull())
        .addColumn('first_seen', 'text', (c) => c.notNull())
        .addColumn('last_seen', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('devices_ip').on('devices').column('ip').execute();
      await db.schema.createIndex('devices_mac').on('devices').column('mac').execute();
      await db.schema.createIndex('devices_type').on('devices').columns(['type', 'criticality']).execute();
      await db.schema.createIndex('devices_last_seen').on('devices').column('last_seen').execute();

      await db.schema
        .createTable('devices_attributes')
        .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('evidence', 'text', (c) => c.notNull())
        .addColumn('confidence', 'real', (c) => c.notNull())
        .addColumn('first_seen', 'text', (c) => c.notNull())
        .addColumn('last_seen', 'text', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('devices_attributes_pk', ['device_id', 'name', 'value'])
        .execute();
      await db.schema
        .createIndex('devices_attributes_name_value')
        .on('devices_attributes')
        .columns(['name', 'value'])
        .execute();

      await db.schema
        .createTable('devices_edges')
        .addColumn('hour', 'text', (c) => c.notNull())
        .addColumn('src_ip', 'text', (c) => c.notNull())
        .addColumn('dst_ip', 'text', (c) => c.notNull())
        .addColumn('dst_port', 'integer', (c) => c.notNull())
        .addColumn('transport', 'text', (c) => c.notNull())
        .addColumn('app', 'text', (c) => c.notNull())
        .addColumn('src_device_id', 'text')
        .addColumn('dst_device_id', 'text')
        .addColumn('connections', 'bigint', (c) => c.notNull())
        .addColumn('packets', 'bigint', (c) => c.notNull())
        .addColumn('bytes', 'bigint', (c) => c.notNull())
        .addColumn('observations', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('devices_edges_pk', [
          'hour',
          'src_ip',
          'dst_ip',
          'dst_port',
          'transport',
          'app',
        ])
        .execute();
      await db.schema
        .createIndex('devices_edges_src')
        .on('devices_edges')
        .columns(['src_device_id', 'hour'])
        .execute();
      await db.schema
        .createIndex('devices_edges_dst')
        .on('devices_edges')
        .columns(['dst_device_id', 'hour'])
        .execute();

      await db.schema
        .createTable('devices_findings')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text')
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('evidence', 'text', (c) => c.notNull())
        .addColumn('first_seen', 'text', (c) => c.notNull())
        .addColumn('last_seen', 'text', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('devices_findings_device')
        .on('devices_findings')
        .column('device_id')
        .execute();

      await db.schema
        .createTable('devices_seen_events')
        .addColumn('event_id', 'text', (c) => c.primaryKey())
        .addColumn('seen_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('devices_seen_events_at')
        .on('devices_seen_events')
        .column('seen_at')
        .execute();
    },
  },
  {
    id: 'devices-0002-manual',
    async up(db) {
      await db.schema
        .createTable('devices_manual')
        .addColumn('device_id', 'text', (c) => c.primaryKey().references('devices.id').onDelete('cascade'))
        .addColumn('type', 'text')
        .addColumn('criticality', 'text')
        .addColumn('owner', 'text')
        .addColumn('location', 'text')
        .addColumn('notes', 'text')
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  {
    // The criticality scale of the issue: life-critical/high/medium/low become
    // life-sustaining/patient-care/clinical-support/business (same ranks, 4 … 1).
    id: 'devices-0003-criticality-scale',
    async up(db0) {
      const db = db0 as Kysely<Pick<DeviceTables, 'devices' | 'devices_manual'>>;
      for (const [from, to] of CRITICALITY_RENAMES) {
        await db.updateTable('devices').set({ criticality: to }).where('criticality', '=', from).execute();
        await db
          .updateTable('devices_manual')
          .set({ criticality: to })
          .where('criticality', '=', from)
          .execute();
      }
    },
  },
];
