/** The calm, centred frame of the sign-in steps. */
import type { ReactNode } from 'react';
import { useEffect, useRef } from 'react';
import { Logo } from '../components/Logo.js';
import { useDocumentTitle } from '../hooks.js';

interface AuthLayoutProps {
  title: string;
  intro?: ReactNode;
  children: ReactNode;
  /** e.g. "Step 2 of 3" */
  step?: string;
  wide?: boolean;
  footer?: ReactNode;
}

export function AuthLayout({ title, intro, children, step, wide = false, footer }: AuthLayoutProps) {
  useDocumentTitle(title);
  const headingRef = useRef<HTMLHeadingElement>(null);

  // A new step moves focus to its heading, so screen-reader users hear where they are.
  useEffect(() => {
    if (document.activeElement === document.body || document.activeElement === null) {
      headingRef.current?.focus();
    }
  }, []);

  return (
    <div className="auth">
      <main id="main" className={`auth-card${wide ? ' auth-card-wide' : ''}`}>
        <div className="auth-brand">
          <Logo size={32} />
          <span className="auth-brand-name">Vigil</span>
        </div>
        {step ? <p className="auth-step">{step}</p> : null}
        <h1 ref={headingRef} tabIndex={-1} className="auth-title">
          {title}
        </h1>
        {intro ? <div className="auth-intro">{intro}</div> : null}
        {children}
        {footer ? <div className="auth-footer">{footer}</div> : null}
      </main>
      <p className="auth-tagline">Security operations for hospitals</p>
    </div>
  );
}
