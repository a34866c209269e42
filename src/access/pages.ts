/**
 * @module access/pages
 * The portal's server-rendered pages: plain HTML forms, no script at all (the CSP forbids inline
 * script, and a sign-in page needs none), one stylesheet from the same origin, a CSRF token in
 * every form. Every value is HTML-escaped.
 */

/** Escapes text for HTML element content and attribute values. */
export function esc(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

export const PORTAL_CSS = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: #f3f5f8; }
main { width: min(24rem, 92vw); background: #fff; padding: 2rem; border-radius: 12px; box-shadow: 0 2px 12px #0002; }
h1 { font-size: 1.3rem; margin: 0 0 1rem; }
label { display: block; margin: .8rem 0 .3rem; font-weight: 600; }
input[type=text], input[type=password] { width: 100%; box-sizing: border-box; padding: .55rem; font-size: 1rem; }
button { margin-top: 1.2rem; width: 100%; padding: .6rem; font-size: 1rem; cursor: pointer; }
.error { color: #a40000; background: #fde8e8; padding: .6rem; border-radius: 6px; }
.muted { color: #555; font-size: .9rem; }
@media (prefers-color-scheme: dark) { body { background: #15181c; } main { background: #22262b; color: #eee; } .muted { color: #aaa; } }
`;

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${esc(title)} · Vigil</title>
<link rel="stylesheet" href="/access/portal.css">
</head>
<body>
<main>
<h1>${esc(title)}</h1>
${body}
</main>
</body>
</html>`;
}

function hidden(name: string, value: string): string {
  return `<input type="hidden" name="${esc(name)}" value="${esc(value)}">`;
}

function errorBox(error?: string | null): string {
  return error ? `<p class="error" role="alert">${esc(error)}</p>` : '';
}

export interface FormContext {
  csrf: string;
  /** The return URL (already checked); empty when none. */
  rd: string;
  error?: string | null;
}

export function loginPage(ctx: FormContext): string {
  return layout(
    'Sign in for remote access',
    `${errorBox(ctx.error)}
<form method="post" action="/access/login">
${hidden('step', 'password')}${hidden('csrf', ctx.csrf)}${hidden('rd', ctx.rd)}
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" required maxlength="128" autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024">
<button type="submit">Continue</button>
</form>`,
  );
}

export function mfaPage(ctx: FormContext & { stepUp: boolean; why?: string[] }): string {
  const intro = ctx.stepUp
    ? `<p>This access needs a fresh check of your second factor.</p>${
        ctx.why?.length ? `<ul class="muted">${ctx.why.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : ''
      }`
    : '<p>Enter the 6-digit code from your authenticator app.</p>';
  return layout(
    ctx.stepUp ? 'Confirm it is you' : 'Second factor',
    `${intro}${errorBox(ctx.error)}
<form method="post" action="/access/login">
${hidden('step', ctx.stepUp ? 'stepup' : 'mfa')}${hidden('csrf', ctx.csrf)}${hidden('rd', ctx.rd)}
<label for="code">Code</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required maxlength="32" autofocus>
<button type="submit">Verify</button>
</form>`,
  );
}

export function messagePage(title: string, message: string, logout?: { csrf: string }): string {
  const form = logout
    ? `<form method="post" action="/access/logout">${hidden('csrf', logout.csrf)}<button type="submit">Sign out</button></form>`
    : '';
  return layout(title, `<p>${esc(message)}</p>${form}`);
}
