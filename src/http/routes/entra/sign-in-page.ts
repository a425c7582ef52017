// The sign-in page (a directory user's name and password) and the form_post answer, rendered with
// the escaping `html` tag: every request parameter is carried as text in hidden fields.
import { html, type Html } from '../../html.js';
import { ENTRA_ASSETS_PATH } from './sign-in-assets.js';

export interface SignInView {
  action: string;
  appName: string;
  /** The authorize request's parameters, posted back with the credentials. */
  carried: Record<string, string>;
  username: string;
  error?: string;
}

const hidden = (fields: Record<string, string>) => Object.entries(fields).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`);

function page(title: string, body: Html): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><link rel="stylesheet" href="${ENTRA_ASSETS_PATH}/sign-in.css"></head>
<body><main>${body}</main></body></html>`.markup;
}

export function renderSignInPage(view: SignInView): string {
  return page(
    'Sign in to your account',
    html`<h1>Sign in</h1>
<p class="app">to continue to ${view.appName}</p>
${view.error ? html`<p class="error" id="sign-in-error" role="alert">${view.error}</p>` : null}
<form id="sign-in" method="post" action="${view.action}">
${hidden(view.carried)}
<label for="username">Email or username</label>
<input type="email" id="username" name="username" autocomplete="username" required value="${view.username}">
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit" id="sign-in-submit">Sign in</button>
</form>`,
  );
}

/** A refusal shown to the user: the request cannot be answered to its redirect URI. */
export function renderSignInError(message: string): string {
  return page('Sign in failed', html`<h1>Sorry, but we’re having trouble signing you in.</h1><p class="error" id="sign-in-error">${message}</p>`);
}

/** response_mode=form_post: a form to the redirect URI, submitted by a script of this server. */
export function renderFormPost(redirectUri: string, fields: Record<string, string>): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Working...</title></head>
<body><form id="form-post" method="post" action="${redirectUri}">${hidden(fields)}<noscript><button type="submit">Continue</button></noscript></form>
<script src="${ENTRA_ASSETS_PATH}/form-post.js"></script></body></html>`.markup;
}
