/**
 * @module identity/demo
 * Demo hospital people: a small hospital's staff across departments, with realistic roles. They
 * share one demo password (generated for each seeding and printed once), already replaced, so a
 * visitor can sign in at once; roles that require MFA still enrol at first sign-in.
 */
import type { Rng, Role } from '../core/index.js';
import type { IdentityDeps } from './deps.js';
import { tables } from './deps.js';
import { generateOneTimePassword, hashPassword } from './passwords.js';
import type { Users } from './users.js';

const FIRST = [
  'Amira',
  'Ben',
  'Chloe',
  'Dmitri',
  'Elena',
  'Farid',
  'Grace',
  'Hiro',
  'Ines',
  'Jonas',
  'Kemi',
  'Liam',
  'Maya',
  'Noah',
  'Olga',
  'Priya',
  'Quentin',
  'Rosa',
  'Samir',
  'Tess',
  'Umar',
  'Vera',
  'Wen',
  'Yusuf',
  'Zoe',
];
const LAST = [
  'Adler',
  'Brennan',
  'Costa',
  'Duval',
  'Eriksen',
  'Fischer',
  'Garcia',
  'Haddad',
  'Ivanova',
  'Jensen',
  'Kowalski',
  'Lindqvist',
  'Moreau',
  'Nakamura',
  'Okafor',
  'Petrov',
  'Rossi',
  'Schmidt',
  'Tanaka',
  'Varga',
];

/** Departments of the demo hospital and who works there, by role. */
export const DEMO_STAFF: ReadonlyArray<{ department: string; role: Role; count: number }> = [
  { department: 'IT security', role: 'admin', count: 2 },
  { department: 'Security operations', role: 'analyst', count: 3 },
  { department: 'Privacy office', role: 'privacy-officer', count: 2 },
  { department: 'Biomedical engineering', role: 'biomed', count: 5 },
  { department: 'Intensive care', role: 'clinician', count: 8 },
  { department: 'Emergency', role: 'clinician', count: 7 },
  { department: 'Radiology', role: 'clinician', count: 5 },
  { department: 'Cardiology', role: 'clinician', count: 4 },
  { department: 'Admissions', role: 'staff', count: 5 },
  { department: 'Pharmacy', role: 'staff', count: 3 },
];

export async function identityDemoSeed(
  deps: Pick<IdentityDeps, 'db' | 'clock'>,
  users: Users,
  rng: Rng,
  progress: (done: number, total: number) => void,
): Promise<{ summary: string; demoPassword: string }> {
  const demoPassword = generateOneTimePassword();
  const passwordHash = await hashPassword(demoPassword);
  const total = DEMO_STAFF.reduce((n, d) => n + d.count, 0);
  const taken = new Set<string>();
  const examples = new Map<Role, string>();
  let done = 0;
  for (const dept of DEMO_STAFF) {
    for (let i = 0; i < dept.count; i++) {
      let first: string;
      let last: string;
      let username: string;
      do {
        first = rng.pick(FIRST);
        last = rng.pick(LAST);
        username = `${first}.${last}`.toLowerCase();
      } while (taken.has(username));
      taken.add(username);
      if (!examples.has(dept.role)) examples.set(dept.role, username);
      const existing = await users.get(username);
      if (!existing) {
        const { user } = await users.create({
          username,
          displayName: `${first} ${last}`,
          email: `${username}@demo-hospital.example`,
          role: dept.role,
        });
        await tables(deps.db)
          .updateTable('users')
          .set({ password_hash: passwordHash, must_change_password: 0 })
          .where('id', '=', user.id)
          .execute();
      }
      progress(++done, total);
    }
  }
  const sample = [...examples].map(([role, name]) => `${name} (${role})`).join(', ');
  return {
    summary: `${total} people in ${DEMO_STAFF.length} departments, for example ${sample}`,
    demoPassword,
  };
}
