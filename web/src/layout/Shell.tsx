/** The signed-in frame: header with product, user and sign-out; navigation; the page. */
import { useEffect, useRef, useState } from 'react';
import { Logo } from '../components/Logo.js';
import { Link, usePath } from '../router.js';
import { canSee, findRoute, ROUTES } from '../routes.js';
import { roleLabel, type SessionUser } from '../types.js';
import { NotFound } from './NotFound.js';

interface ShellProps {
  user: SessionUser;
  onSignOut: () => Promise<void>;
}

export function Shell({ user, onSignOut }: ShellProps) {
  const path = usePath();
  const route = findRoute(path);
  const allowed = route ? canSee(route, user.role) : false;
  const visible = ROUTES.filter((r) => canSee(r, user.role));
  const [signingOut, setSigningOut] = useState(false);
  const mainRef = useRef<HTMLElement>(null);
  const firstRender = useRef(true);

  // After in-app navigation, move focus to the new page's heading (as a page load would).
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs on every path change by design.
  useEffect(() => {
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    mainRef.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [path]);

  const signOut = async () => {
    setSigningOut(true);
    try {
      await onSignOut();
    } finally {
      setSigningOut(false);
    }
  };

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="shell-header">
        <Link to="/" className="shell-brand" aria-label="Vigil, overview">
          <Logo />
          <span className="shell-brand-name">Vigil</span>
        </Link>
        <nav className="shell-nav" aria-label="Main">
          <ul>
            {visible.map((r) => (
              <li key={r.path}>
                <Link
                  to={r.path}
                  className="shell-nav-link"
                  aria-current={route?.path === r.path ? 'page' : undefined}
                  data-testid={`nav-${r.path === '/' ? 'overview' : r.path.slice(1)}`}
                >
                  {r.label}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="shell-user">
          <span className="shell-user-text">
            <span className="shell-user-name" data-testid="current-user">
              {user.displayName || user.username}
            </span>
            <span className="badge" data-testid="current-role">
              {roleLabel(user.role)}
            </span>
          </span>
          <button
            type="button"
            className="button button-small button-secondary"
            onClick={signOut}
            disabled={signingOut}
            data-testid="sign-out"
          >
            {signingOut ? 'Signing out…' : 'Sign out'}
          </button>
        </div>
      </header>
      <main id="main" ref={mainRef} className="shell-main" tabIndex={-1}>
        {route && allowed ? route.render(user) : <NotFound reason={route ? 'forbidden' : 'missing'} />}
      </main>
    </div>
  );
}
