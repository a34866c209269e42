/**
 * @module cli/commands/admin
 * Administration on the data directory: `vigil migrate`, `vigil config print`, `vigil user …`,
 * `vigil token …`. Secrets (one-time passwords, token secrets) are printed once, to the terminal.
 */
import type { Command } from 'commander';
import { isRole, ROLES, type Role } from '../../core/index.js';
import { redactConfig } from '../../platform/config/index.js';
import { listAppliedMigrations, runMigrations } from '../../platform/db/index.js';
import { ALL_MIGRATIONS, openDatabaseFor } from '../../server/index.js';
import { configFrom, withServices } from '../context.js';

function roleOption(value: string): Role {
  if (!isRole(value)) throw new Error(`--role must be one of ${ROLES.join(', ')}; got ${value}`);
  return value;
}

function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

export function registerAdminCommands(program: Command): void {
  program
    .command('migrate')
    .description('apply database migrations (they also run on every start)')
    .option('--status', 'list applied and pending migrations without applying')
    .action(async (opts: { status?: boolean }, cmd: Command) => {
      const database = await openDatabaseFor(configFrom(cmd));
      try {
        if (opts.status) {
          const applied = new Set((await listAppliedMigrations(database)).map((m) => m.id));
          for (const m of ALL_MIGRATIONS) print(`${applied.has(m.id) ? 'applied' : 'pending'}  ${m.id}`);
          return;
        }
        const result = await runMigrations(database, ALL_MIGRATIONS, (id) => print(`applied ${id}`));
        print(
          result.applied.length
            ? `${result.applied.length} migration(s) applied.`
            : 'The database is up to date.',
        );
      } finally {
        await database.close();
      }
    });

  const config = program.command('config').description('configuration');
  config
    .command('print')
    .description('print the effective configuration (secrets redacted)')
    .action((_opts: unknown, cmd: Command) => {
      print(JSON.stringify(redactConfig(configFrom(cmd)), null, 2));
    });

  const user = program.command('user').description('console users');
  user
    .command('add <username>')
    .description('create a user; prints a one-time password to replace at first sign-in')
    .requiredOption('-r, --role <role>', `one of ${ROLES.join(', ')}`, roleOption)
    .option('-n, --name <displayName>', 'display name')
    .option('-e, --email <email>', 'e-mail address')
    .action(async (username: string, opts: { role: Role; name?: string; email?: string }, cmd: Command) => {
      await withServices(cmd, async (s) => {
        const { user: u, oneTimePassword } = await s.identity.users.create({
          username,
          displayName: opts.name ?? username,
          email: opts.email,
          role: opts.role,
        });
        print(`Created ${u.username} (${u.role}).`);
        print(`  one-time password: ${oneTimePassword}`);
        print(
          'They must replace it at first sign-in' +
            (['admin', 'analyst', 'privacy-officer'].includes(u.role) ? ' and enrol MFA.' : '.'),
        );
      });
    });
  user
    .command('list')
    .description('list users')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withServices(cmd, async (s) => {
        const users = await s.identity.users.list();
        if (opts.json) return print(JSON.stringify(users, null, 2));
        print(
          `${'USERNAME'.padEnd(24)} ${'ROLE'.padEnd(16)} ${'STATUS'.padEnd(9)} ${'MFA'.padEnd(4)} LAST SIGN-IN`,
        );
        for (const u of users) {
          print(
            `${u.username.padEnd(24)} ${u.role.padEnd(16)} ${u.status.padEnd(9)} ${(u.mfaEnrolled ? 'yes' : 'no').padEnd(4)} ${u.lastLoginAt ?? '-'}`,
          );
        }
      });
    });
  for (const [name, description, run] of [
    ['disable', 'disable a user and end their sessions', 'disable'],
    ['enable', 'enable a disabled or locked user', 'enable'],
    ['reset-mfa', "remove a user's MFA; they enrol again at next sign-in", 'reset-mfa'],
  ] as const) {
    user
      .command(`${name} <username>`)
      .description(description)
      .action(async (username: string, _opts: unknown, cmd: Command) => {
        await withServices(cmd, async (s) => {
          const u =
            run === 'reset-mfa'
              ? await s.identity.users.resetMfa(username)
              : await s.identity.users.setStatus(username, run === 'disable' ? 'disabled' : 'active');
          print(`${u.username}: ${run === 'reset-mfa' ? 'MFA removed; sessions ended' : u.status}`);
        });
      });
  }

  const token = program.command('token').description('API tokens for integrations');
  token
    .command('create')
    .description('create an API token scoped to a role; prints the secret once')
    .requiredOption('-n, --name <name>', 'what the token is for')
    .requiredOption('-r, --role <role>', `one of ${ROLES.join(', ')}`, roleOption)
    .action(async (opts: { name: string; role: Role }, cmd: Command) => {
      await withServices(cmd, async (s) => {
        const { token: t, secret } = await s.identity.tokens.create(opts.name, opts.role);
        print(`Created token ${t.id} (${t.name}, ${t.role}). Its secret, shown this once:`);
        print(`  ${secret}`);
        print('Send it as: Authorization: Bearer <secret>');
      });
    });
  token
    .command('list')
    .description('list API tokens')
    .action(async (_opts: unknown, cmd: Command) => {
      await withServices(cmd, async (s) => {
        for (const t of await s.identity.tokens.list()) {
          print(`${t.id}  ${t.role.padEnd(16)} ${t.revokedAt ? 'revoked' : 'active '}  ${t.name}`);
        }
      });
    });
  token
    .command('revoke <id>')
    .description('revoke an API token')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      await withServices(cmd, async (s) => {
        await s.identity.tokens.revoke(id);
        print(`Token ${id} revoked.`);
      });
    });
}
