/**
 * @module access/migrations
 * The gateway's schema, on SQLite and PostgreSQL. Append new migrations; never edit an applied one.
 */
import type { Migration } from '../platform/db/index.js';

export const accessMigrations: Migration[] = [
  {
    id: 'access-0001-decisions-sessions-devices',
    async up(db) {
      await db.schema
        .createTable('access_decisions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('time', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('username', 'text')
        .addColumn('app', 'text')
        .addColumn('decision', 'text', (c) => c.notNull())
        .addColumn('risk', 'integer', (c) => c.notNull())
        .addColumn('reasons', 'text', (c) => c.notNull())
        .addColumn('source_ip', 'text')
        .addColumn('host', 'text')
        .addColumn('path', 'text')
        .addColumn('method', 'text')
        .execute();
      await db.schema.createIndex('access_decisions_time').on('access_decisions').column('time').execute();
      await db.schema
        .createIndex('access_decisions_user')
        .on('access_decisions')
        .columns(['user_id', 'time'])
        .execute();
      await db.schema
        .createTable('access_sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text')
        .addColumn('ip', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('mfa_at', 'text')
        .addColumn('mfa_device_id', 'text')
        .addColumn('mfa_ip', 'text')
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema.createIndex('access_sessions_user').on('access_sessions').column('user_id').execute();
      await db.schema
        .createTable('access_devices')
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text', (c) => c.notNull())
        .addColumn('first_seen_at', 'text', (c) => c.notNull())
        .addColumn('last_seen_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('access_devices_pk', ['user_id', 'device_id'])
        .execute();
      await db.schema
        .createTable('access_profiles')
        .addColumn('user_id', 'text', (c) => c.primaryKey())
        .addColumn('hours', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('access_blocks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('cidr', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  {
    id: 'access-0002-places',
    async up(db) {
      await db.schema
        .createTable('access_places')
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('first_seen_at', 'text', (c) => c.notNull())
        .addColumn('last_seen_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('access_places_pk', ['user_id', 'kind', 'value'])
        .execute();
      // Sign-ins as the gateway first saw them: kept when a session row goes (step-up replaces it).
      await db.schema
        .createTable('access_logins')
        .addColumn('session_id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('ip', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('access_logins_user_at')
        .on('access_logins')
        .columns(['user_id', 'at'])
        .execute();
    },
  },
  {
    id: 'access-0003-passkeys',
    async up(db) {
      // WebAuthn credentials (passkeys) per user: the id is the credential id (base64url).
      await db.schema
        .createTable('access_passkeys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('public_key', 'text', (c) => c.notNull())
        .addColumn('counter', 'bigint', (c) => c.notNull())
        .addColumn('transports', 'text', (c) => c.notNull())
        .addColumn('device_type', 'text', (c) => c.notNull())
        .addColumn('backed_up', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_used_at', 'text')
        .execute();
      await db.schema.createIndex('access_passkeys_user').on('access_passkeys').column('user_id').execute();
      // Outstanding WebAuthn challenges, one per user, browser and purpose; each is used once.
      await db.schema
        .createTable('access_webauthn_challenges')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('challenge', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  {
    id: 'access-0004-reason-sets',
    async up(db) {
      // A decision's reasons (a dozen signals, about a kilobyte of JSON) repeat request after
      // request for an established session: each distinct list is kept once, by its hash.
      await db.schema
        .createTable('access_reason_sets')
        .addColumn('hash', 'text', (c) => c.primaryKey())
        .addColumn('reasons', 'text', (c) => c.notNull())
        .addColumn('seen_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.alterTable('access_decisions').addColumn('reasons_hash', 'text').execute();
    },
  },
];
