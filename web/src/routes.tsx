/** The console's pages, their paths and who may see them. The navigation is built from this list. */
import type { ReactNode } from 'react';
import { EventLog } from './pages/EventLog.js';
import { Overview } from './pages/Overview.js';
import { PatientDocuments } from './pages/PatientDocuments.js';
import { Privacy } from './pages/Privacy.js';
import { RemoteAccess } from './pages/RemoteAccess.js';
import { Tokens } from './pages/Tokens.js';
import { Users } from './pages/Users.js';
import type { Role, SessionUser } from './types.js';

export interface RouteDef {
  path: string;
  label: string;
  /** Roles allowed; absent means every signed-in role. */
  roles?: ReadonlyArray<Role>;
  render: (user: SessionUser) => ReactNode;
}

export const ROUTES: ReadonlyArray<RouteDef> = [
  { path: '/', label: 'Overview', render: () => <Overview /> },
  {
    path: '/documents',
    label: 'Patient documents',
    roles: ['clinician'],
    render: () => <PatientDocuments />,
  },
  {
    path: '/events',
    label: 'Event log',
    roles: ['admin', 'analyst', 'privacy-officer'],
    render: () => <EventLog />,
  },
  {
    path: '/privacy',
    label: 'Privacy',
    roles: ['privacy-officer'],
    render: (user) => <Privacy user={user} />,
  },
  {
    path: '/access',
    label: 'Remote access',
    roles: ['admin', 'analyst'],
    render: (user) => <RemoteAccess user={user} />,
  },
  { path: '/users', label: 'Users', roles: ['admin'], render: (user) => <Users currentUserId={user.id} /> },
  { path: '/tokens', label: 'API tokens', roles: ['admin'], render: () => <Tokens /> },
];

export function canSee(route: RouteDef, role: Role): boolean {
  return !route.roles || route.roles.includes(role);
}

/** The route for a path, ignoring one trailing slash. */
export function findRoute(path: string): RouteDef | undefined {
  const clean = path.length > 1 ? path.replace(/\/+$/, '') : path;
  return ROUTES.find((r) => r.path === clean);
}
