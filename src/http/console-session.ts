// The web console's sign-in: a cookie that the control API (/__admin) accepts in place of
// `Authorization: Bearer <admin key>`, only from the console's own origin.
import { createHmac } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { adminKeyMatches } from '../auth/admin-key.js';
import { graphErrors } from './graph-errors.js';

export const CONSOLE_COOKIE = 'graph_meetings_console';

/**
 * The cookie's value: an HMAC of a fixed label under the admin key, not the key itself. It signs a
 * browser in just as the key would, but a cookie that leaks (a HAR file, a browser profile, a proxy
 * log) does not give away the key, which scripts and CI use as a bearer credential and keep in
 * their configuration. It is derived rather than random so that every process on the database
 * accepts it without shared session state, and it stops working when the key changes.
 */
export function consoleSessionValue(adminKey: string): string {
  return createHmac('sha256', adminKey).update('graph-meetings console session v1').digest('base64url');
}

/** The value of the named cookie in the request's Cookie header. */
export function cookieOf(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const pair of header.split(';')) {
    const equals = pair.indexOf('=');
    if (equals > 0 && pair.slice(0, equals).trim() === name) return pair.slice(equals + 1).trim();
  }
  return undefined;
}

/** Constant-time (adminKeyMatches): true when the request carries the console cookie for `adminKey`. */
export function hasConsoleSession(request: FastifyRequest, adminKey: string): boolean {
  const presented = cookieOf(request, CONSOLE_COOKIE);
  return presented !== undefined && adminKeyMatches(consoleSessionValue(adminKey), presented);
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * SameSite=Strict keeps the cookie from other sites, but not from another port of the same host
 * (same site, other origin: any local web app). So a request made with the cookie must come from
 * this origin: the browser's Sec-Fetch-Site says so, or, without it, the Origin header's host is
 * this server's. Reads may also come from the address bar (Sec-Fetch-Site: none).
 */
export function isSameOriginRequest(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  const safe = SAFE_METHODS.has(request.method);
  if (typeof site === 'string') return site === 'same-origin' || (safe && site === 'none');
  if (safe) return true;
  const origin = request.headers.origin;
  if (typeof origin !== 'string') return false;
  try {
    return new URL(origin).host === request.host;
  } catch {
    return false;
  }
}

export const crossOriginRefused = () =>
  graphErrors.forbidden("The console's sign-in cookie is accepted only on requests from the console's own pages (same origin).");

/** Set-Cookie for a signed-in browser: a session cookie, never readable by script, never sent cross-site. */
export function sessionCookie(adminKey: string, request: FastifyRequest): string {
  return `${CONSOLE_COOKIE}=${consoleSessionValue(adminKey)}; Path=/; HttpOnly; SameSite=Strict${request.protocol === 'https' ? '; Secure' : ''}`;
}

export function clearedSessionCookie(): string {
  return `${CONSOLE_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
}
