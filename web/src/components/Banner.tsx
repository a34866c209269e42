/** A message strip: errors are announced at once (role=alert), notices politely (role=status). */
import type { ReactNode } from 'react';

interface BannerProps {
  kind: 'error' | 'info' | 'success' | 'warning';
  children: ReactNode;
  testId?: string;
}

export function Banner({ kind, children, testId }: BannerProps) {
  return (
    <div
      className={`banner banner-${kind}`}
      role={kind === 'error' ? 'alert' : 'status'}
      data-testid={testId}
    >
      {children}
    </div>
  );
}
