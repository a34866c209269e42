/** An unknown path, or a page the role may not open (answered the same way as the server does). */
import { useDocumentTitle } from '../hooks.js';
import { Link } from '../router.js';

export function NotFound({ reason }: { reason: 'missing' | 'forbidden' }) {
  const title = reason === 'missing' ? 'Page not found' : 'Not available to your role';
  useDocumentTitle(title);
  return (
    <div className="page">
      <header className="page-header">
        <h1 tabIndex={-1}>{title}</h1>
      </header>
      <section className="panel">
        <p>
          {reason === 'missing'
            ? 'There is no page at this address.'
            : 'Your role does not give access to this page. Ask a Vigil administrator if you need it.'}
        </p>
        <p>
          <Link to="/">Go to the overview</Link>
        </p>
      </section>
    </div>
  );
}
