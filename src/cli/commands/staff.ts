/**
 * @module cli/commands/staff
 * `vigil staff link <user> <practitioner>`, `vigil staff unlink <user>`, `vigil staff list`: which
 * Practitioner each console user is. The vault's care policy gives a clinician the care
 * relationships of their Practitioner (Encounters they take part in, CareTeams they belong to).
 */
import type { Command } from 'commander';
import { VigilError } from '../../core/index.js';
import { withServices } from '../context.js';

const OPERATOR = { id: 'cli-operator', role: 'admin' };

function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** Registers `vigil staff …`. */
export function registerStaffCommands(program: Command): void {
  const staff = program.command('staff').description('link console users to the practitioners they are');
  staff
    .command('link <user> <practitioner>')
    .description(
      'link a user (username or id) to a Practitioner: its id, Practitioner/<id>, or an identifier system|value such as http://hl7.org/fhir/sid/us-npi|9999974493',
    )
    .action(async (user: string, practitioner: string, _opts: unknown, cmd: Command) => {
      await withServices(cmd, async (s) => {
        const row = await s.identity.users.get(user);
        if (!row) throw new VigilError('NOT_FOUND', `No user ${user.slice(0, 64)}: see vigil user list`);
        const link = await s.vault.linkStaff(OPERATOR, row.id, practitioner);
        print(`${row.username} is now Practitioner/${link.practitionerId}.`);
      });
    });
  staff
    .command('unlink <user>')
    .description('remove a user’s practitioner link (they lose every care relationship)')
    .action(async (user: string, _opts: unknown, cmd: Command) => {
      await withServices(cmd, async (s) => {
        const row = await s.identity.users.get(user);
        if (!row) throw new VigilError('NOT_FOUND', `No user ${user.slice(0, 64)}: see vigil user list`);
        if (!(await s.vault.unlinkStaff(OPERATOR, row.id)))
          throw new VigilError('NOT_FOUND', `${row.username} has no practitioner link`);
        print(`${row.username} is no longer linked to a practitioner.`);
      });
    });
  staff
    .command('list')
    .description('list the links')
    .action(async (_opts: unknown, cmd: Command) => {
      await withServices(cmd, async (s) => {
        const links = await s.vault.staffLinks();
        if (!links.length) {
          print('No user is linked to a practitioner yet: vigil staff link <user> <practitioner>');
          return;
        }
        const users = new Map((await s.identity.users.list()).map((u) => [u.id, u.username]));
        for (const l of links)
          print(
            `${(users.get(l.userId) ?? l.userId).padEnd(24)} Practitioner/${l.practitionerId}  (${l.linkedAt})`,
          );
      });
    });
}
