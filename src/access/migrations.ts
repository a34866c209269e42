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
];
