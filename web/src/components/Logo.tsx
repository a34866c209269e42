/** The Vigil mark: a shield with a pulse line. Decorative; the product name is always beside it. */
export function Logo({ size = 28 }: { size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 32 32" aria-hidden="true" focusable="false" className="logo">
      <path
        d="M16 2.5 4.5 7v8.2c0 7.1 4.9 12.6 11.5 14.3 6.6-1.7 11.5-7.2 11.5-14.3V7L16 2.5Z"
        className="logo-shield"
      />
      <path
        d="M8.5 16.5h4l2-4.5 3 9 2-4.5h4"
        fill="none"
        className="logo-pulse"
        strokeWidth="2.2"
        strokeLinecap="round"
        strokeLinejoin="round"
      />
    </svg>
  );
}
