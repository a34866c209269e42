/**
 * @module access/pages
 * The portal's server-rendered pages: plain HTML forms, one stylesheet from the same origin, a
 * CSRF token in every form. Every value is HTML-escaped. The sign-in page has no script at all;
 * pages that offer a passkey load one small same-origin script (`/access/portal.js`, the CSP
 * forbids inline script) that reads the WebAuthn options from a JSON block, calls
 * `navigator.credentials` and posts the answer in the form. Without WebAuthn the passkey forms stay
 * hidden and the code forms work alone.
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
.notice { color: #0b5a1f; background: #e6f6ea; padding: .6rem; border-radius: 6px; }
section { border-top: 1px solid #0002; margin-top: 1.2rem; padding-top: .4rem; }
h2 { font-size: 1.05rem; margin: .6rem 0; }
ul.keys { list-style: none; padding: 0; }
ul.keys li { display: flex; justify-content: space-between; align-items: center; gap: .6rem; padding: .4rem 0; border-bottom: 1px solid #0001; }
ul.keys form button, button.small { width: auto; margin: 0; padding: .3rem .7rem; font-size: .9rem; }
ol.codes { font-family: ui-monospace, monospace; columns: 2; }
img.qr { display: block; margin: .6rem auto; width: 200px; height: 200px; image-rendering: pixelated; }
code.secret { word-break: break-all; }
.or { text-align: center; margin: 1rem 0 0; }
@media (prefers-color-scheme: dark) { body { background: #15181c; } main { background: #22262b; color: #eee; } .muted { color: #aaa; } }
`;

function layout(title: string, body: string, script = false): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${esc(title)} · Vigil</title>
<link rel="stylesheet" href="/access/portal.css">
${script ? '<script src="/access/portal.js" defer></script>\n' : ''}</head>
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

/** A WebAuthn options block (JSON, never executed) and a hidden form the portal script drives. */
function passkeyForm(opts: {
  kind: 'get' | 'create';
  options: unknown;
  id: string;
  action: string;
  fields: Record<string, string>;
  label: string;
  name?: boolean;
}): string {
  // JSON inside <script type="application/json">: `<` is escaped so the block cannot be closed early.
  const json = JSON.stringify(opts.options).replace(/</g, '\\u003c');
  const fields = Object.entries(opts.fields)
    .map(([k, v]) => hidden(k, v))
    .join('');
  const name = opts.name
    ? '<label for="passkey-name">Name for this passkey</label><input id="passkey-name" name="name" type="text" maxlength="60" placeholder="e.g. Work laptop">'
    : '';
  return `<script type="application/json" id="${esc(opts.id)}">${json}</script>
<form method="post" action="${esc(opts.action)}" data-webauthn="${opts.kind}" data-options="${esc(opts.id)}" hidden>
${fields}<input type="hidden" name="passkey" value="">${name}
<button type="submit">${esc(opts.label)}</button>
<p class="muted passkey-status" role="status"></p>
</form>`;
}

export function mfaPage(
  ctx: FormContext & { stepUp: boolean; why?: string[]; passkeyOptions?: unknown; back?: 'account' },
): string {
  const intro = ctx.stepUp
    ? `<p>This access needs a fresh check of your second factor.</p>${
        ctx.why?.length ? `<ul class="muted">${ctx.why.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : ''
      }`
    : '<p>Enter the 6-digit code from your authenticator app.</p>';
  return layout(
    ctx.stepUp ? 'Confirm it is you' : 'Second factor',
    `${intro}${errorBox(ctx.error)}
<form method="post" action="/access/login">
${hidden('step', ctx.stepUp ? 'stepup' : 'mfa')}${hidden('csrf', ctx.csrf)}${hidden('rd', ctx.rd)}${ctx.back ? hidden('back', ctx.back) : ''}
<label for="code">Code</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required maxlength="32" autofocus>
<button type="submit">Verify</button>
</form>${
      ctx.passkeyOptions
        ? `<p class="or muted">or</p>${passkeyForm({
            kind: 'get',
            options: ctx.passkeyOptions,
            id: 'passkey-get-options',
            action: '/access/login',
            fields: { step: ctx.stepUp ? 'stepup' : 'mfa', csrf: ctx.csrf, rd: ctx.rd },
            label: 'Use a passkey',
          })}`
        : ''
    }`,
    Boolean(ctx.passkeyOptions),
  );
}

export function messagePage(title: string, message: string, logout?: { csrf: string }): string {
  const form = logout
    ? `<p><a href="/access/account">Sign-in security: authenticator app, passkeys</a></p><form method="post" action="/access/logout">${hidden('csrf', logout.csrf)}<button type="submit">Sign out</button></form>`
    : '';
  return layout(title, `<p>${esc(message)}</p>${form}`);
}

/** What the security page shows besides the account itself. */
export interface AccountPageContext {
  csrf: string;
  username: string;
  totpEnrolled: boolean;
  passkeys: ReadonlyArray<{ id: string; name: string; createdAt: string; lastUsedAt: string | null }>;
  /** Whether changes may be made now; otherwise the page asks to confirm first. */
  fresh: boolean;
  error?: string | null;
  notice?: string | null;
  /** WebAuthn options to confirm with a passkey (when not fresh) or to add one (when fresh). */
  confirmOptions?: unknown;
  registerOptions?: unknown;
  /** An authenticator app being set up: its QR code and secret. */
  totpSetup?: { qrDataUrl: string; secret: string } | null;
  /** Recovery codes just made: shown once. */
  recoveryCodes?: readonly string[] | null;
}

const day = (iso: string | null) => (iso ? iso.slice(0, 10) : 'never');

function postButton(csrf: string, action: string, label: string, extra: Record<string, string> = {}): string {
  const fields = Object.entries(extra)
    .map(([k, v]) => hidden(k, v))
    .join('');
  return `<form method="post" action="/access/account">${hidden('csrf', csrf)}${hidden('action', action)}${fields}<button type="submit">${esc(label)}</button></form>`;
}

/** The self-service security page: authenticator app, passkeys, recovery codes. */
export function accountPage(ctx: AccountPageContext): string {
  const parts: string[] = [`<p class="muted">Signed in as ${esc(ctx.username)}.</p>`, errorBox(ctx.error)];
  if (ctx.notice) parts.push(`<p class="notice" role="status">${esc(ctx.notice)}</p>`);
  if (ctx.recoveryCodes?.length) {
    parts.push(`<section><h2>Your recovery codes</h2>
<p>Each code works once if you lose your phone. Keep them somewhere safe: they are not shown again.</p>
<ol class="codes" id="recovery-codes">${ctx.recoveryCodes.map((c) => `<li>${esc(c)}</li>`).join('')}</ol></section>`);
  }
  if (!ctx.fresh) {
    parts.push(`<section><h2>Confirm it is you</h2>
<p>Changes to how you sign in need a fresh check of your second factor.</p>
<form method="post" action="/access/account">${hidden('csrf', ctx.csrf)}${hidden('action', 'confirm')}
<label for="code">Code from your authenticator app</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required maxlength="32">
<button type="submit">Confirm</button>
</form>${
      ctx.confirmOptions
        ? `<p class="or muted">or</p>${passkeyForm({
            kind: 'get',
            options: ctx.confirmOptions,
            id: 'passkey-get-options',
            action: '/access/account',
            fields: { csrf: ctx.csrf, action: 'confirm' },
            label: 'Confirm with a passkey',
          })}`
        : ''
    }</section>`);
  }
  // Authenticator app.
  let totp: string;
  if (ctx.totpEnrolled) totp = '<p>An authenticator app is set up.</p>';
  else if (ctx.totpSetup) {
    totp = `<p>Scan this code with your authenticator app, then enter the 6-digit code it shows.</p>
<img class="qr" alt="QR code for your authenticator app" src="${esc(ctx.totpSetup.qrDataUrl)}">
<p class="muted">Or type this key: <code class="secret" id="totp-secret">${esc(ctx.totpSetup.secret)}</code></p>
<form method="post" action="/access/account">${hidden('csrf', ctx.csrf)}${hidden('action', 'totp-confirm')}
<label for="totp-code">Code</label>
<input id="totp-code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" required maxlength="6">
<button type="submit">Turn on</button>
</form>`;
  } else if (ctx.fresh)
    totp = `<p>Not set up.</p>${postButton(ctx.csrf, 'totp-start', 'Set up an authenticator app')}`;
  else totp = '<p>Not set up.</p>';
  parts.push(`<section><h2>Authenticator app</h2>${totp}</section>`);
  // Passkeys.
  const list = ctx.passkeys.length
    ? `<ul class="keys" id="passkeys">${ctx.passkeys
        .map(
          (p) =>
            `<li><span>${esc(p.name)}<br><span class="muted">added ${esc(day(p.createdAt))}, last used ${esc(day(p.lastUsedAt))}</span></span>${
              ctx.fresh
                ? `<form method="post" action="/access/account">${hidden('csrf', ctx.csrf)}${hidden('action', 'passkey-remove')}${hidden('id', p.id)}<button type="submit" class="small" aria-label="Remove ${esc(p.name)}">Remove</button></form>`
                : ''
            }</li>`,
        )
        .join('')}</ul>`
    : '<p id="passkeys">No passkeys yet.</p>';
  const add =
    ctx.fresh && ctx.registerOptions
      ? passkeyForm({
          kind: 'create',
          options: ctx.registerOptions,
          id: 'passkey-create-options',
          action: '/access/account',
          fields: { csrf: ctx.csrf, action: 'passkey-add' },
          label: 'Add a passkey',
          name: true,
        })
      : '';
  parts.push(
    `<section><h2>Passkeys</h2><p class="muted">A passkey on this device or a security key can replace the code from your app.</p>${list}${add}</section>`,
  );
  if (ctx.totpEnrolled && ctx.fresh) {
    parts.push(
      `<section><h2>Recovery codes</h2><p class="muted">New codes replace all the old ones.</p>${postButton(ctx.csrf, 'recovery-codes', 'Make new recovery codes')}</section>`,
    );
  }
  parts.push(
    `<section><form method="post" action="/access/logout">${hidden('csrf', ctx.csrf)}<button type="submit">Sign out</button></form></section>`,
  );
  return layout(
    'Sign-in security',
    parts.join('\n'),
    Boolean(ctx.confirmOptions || (ctx.fresh && ctx.registerOptions)),
  );
}

/**
 * The portal's only script: drives the passkey forms. Reads the options JSON, turns its base64url
 * fields into bytes, calls `navigator.credentials.get` or `.create`, and posts the credential as
 * JSON (base64url fields, the shape `@simplewebauthn/server` verifies) in the form's `passkey` field.
 */
export const PORTAL_JS = `'use strict';
(() => {
  const bytes = (s) => {
    const b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4));
    return Uint8Array.from(b, (c) => c.charCodeAt(0)).buffer;
  };
  const text = (buf) => {
    let s = '';
    for (const b of new Uint8Array(buf)) s += String.fromCharCode(b);
    return btoa(s).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  };
  const supported = typeof window.PublicKeyCredential === 'function' && !!navigator.credentials;
  for (const form of document.querySelectorAll('form[data-webauthn]')) {
    if (!supported) continue;
    const source = document.getElementById(form.dataset.options);
    if (!source) continue;
    const options = JSON.parse(source.textContent);
    const status = form.querySelector('.passkey-status');
    const button = form.querySelector('button');
    form.hidden = false;
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      button.disabled = true;
      status.textContent = 'Waiting for your passkey…';
      try {
        let answer;
        if (form.dataset.webauthn === 'get') {
          const cred = await navigator.credentials.get({
            publicKey: {
              ...options,
              challenge: bytes(options.challenge),
              allowCredentials: (options.allowCredentials || []).map((c) => ({ ...c, id: bytes(c.id) })),
            },
          });
          const r = cred.response;
          answer = {
            id: cred.id,
            rawId: text(cred.rawId),
            type: cred.type,
            response: {
              clientDataJSON: text(r.clientDataJSON),
              authenticatorData: text(r.authenticatorData),
              signature: text(r.signature),
              ...(r.userHandle ? { userHandle: text(r.userHandle) } : {}),
            },
            clientExtensionResults: cred.getClientExtensionResults(),
          };
        } else {
          const cred = await navigator.credentials.create({
            publicKey: {
              ...options,
              challenge: bytes(options.challenge),
              user: { ...options.user, id: bytes(options.user.id) },
              excludeCredentials: (options.excludeCredentials || []).map((c) => ({ ...c, id: bytes(c.id) })),
            },
          });
          const r = cred.response;
          answer = {
            id: cred.id,
            rawId: text(cred.rawId),
            type: cred.type,
            response: {
              clientDataJSON: text(r.clientDataJSON),
              attestationObject: text(r.attestationObject),
              transports: typeof r.getTransports === 'function' ? r.getTransports() : [],
            },
            clientExtensionResults: cred.getClientExtensionResults(),
          };
        }
        form.elements.passkey.value = JSON.stringify(answer);
        status.textContent = 'Checking…';
        form.submit();
      } catch (err) {
        const why = err && err.name === 'NotAllowedError' ? 'it was cancelled or timed out' : String(err && err.message);
        status.textContent = 'The passkey was not used: ' + why + '. You can try again or use a code.';
        button.disabled = false;
      }
    });
  }
})();
`;
