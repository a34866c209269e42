/** The console's pages, their paths and who may see them. The navigation is built from this list. */
import type { ReactNode } from 'react';
import { Alerts } from './pages/Alerts.js';
import { Cases } from './pages/Cases.js';
import { Devices } from './pages/Devices.js';
import { Directory } from './pages/Directory.js';
import { EventLog } from './pages/EventLog.js';
import { NetworkMap } from './pages/NetworkMap.js';
import { Overview } from './pages/Overview.js';
import { PatientDocuments } from './pages/PatientDocuments.js';
import { Phishing } from './pages/Phishing.js';
import { Privacy } from './pages/Privacy.js';
import { RemoteAccess } from './pages/RemoteAccess.js';
import { Tokens } from './pages/Tokens.js';
import { Training } from './pages/Training.js';
import { Users } from './pages/Users.js';
import type { Role, SessionUser } from './types.js';

export interface RouteDef {
  path: string;
  label: string;
  /** Roles allowed; absent means every signed-in role. */
  roles?: ReadonlyArray<Role>;
  /** Also serves the paths below it (`/training/courses/x`); the page reads the rest of the path. */
  prefix?: boolean;
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
    path: '/alerts',
    label: 'Alerts',
    roles: ['admin', 'analyst', 'privacy-officer'],
    render: (user) => <Alerts user={user} />,
  },
  {
    path: '/cases',
    label: 'Cases',
    roles: ['admin', 'analyst', 'privacy-officer'],
    render: (user) => <Cases user={user} />,
  },
  {
    path: '/events',
    label: 'Event log',
    roles: ['admin', 'analyst', 'privacy-officer'],
    render: () => <EventLog />,
  },
  {
    path: '/devices',
    label: 'Devices',
    roles: ['admin', 'analyst', 'biomed'],
    prefix: true,
    render: (user) => <Devices user={user} />,
  },
  {
    path: '/network-map',
    label: 'Network map',
    roles: ['admin', 'analyst', 'biomed'],
    render: () => <NetworkMap />,
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
  { path: '/training', label: 'Training', prefix: true, render: (user) => <Training user={user} /> },
  {
    path: '/phishing',
    label: 'Phishing',
    roles: ['admin', 'analyst'],
    prefix: true,
    render: () => <Phishing />,
  },
  {
    path: '/directory',
    label: 'Directory',
    roles: ['admin', 'analyst'],
    prefix: true,
    render: () => <Directory />,
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
  return (
    ROUTES.find((r) => r.path === clean) ?? ROUTES.find((r) => r.prefix && clean.startsWith(`${r.path}/`))
  );
}
