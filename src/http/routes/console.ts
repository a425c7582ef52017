// The web console at /console: static pages and assets from the package's console/ folder (plain
// HTML, CSS and JavaScript modules, no build step), signed in with the admin key. The pages read
// and change everything through the control API (/__admin), which accepts the console's cookie.
// Without a control API (oidc mode and no admin key) the console does not exist either: 404.
import { readdirSync, readFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { adminKeyMatches } from '../../auth/admin-key.js';
import {
  clearedSessionCookie,
  crossOriginRefused,
  hasConsoleSession,
  isSameOriginRequest,
  sessionCookie,
} from '../console-session.js';
import { graphErrors } from '../graph-errors.js';
import { setPageSecurityHeaders } from '../page-security.js';
import { registerResource } from '../resource.js';

export const CONSOLE_PATH = '/console';
/** Where the pages live: console/ at the package root, the same from src/ (tsx) and dist/. */
const CONSOLE_DIR = new URL('../../../console/', import.meta.url);
const ASSETS_DIR = new URL('assets/', CONSOLE_DIR);

const CONTENT_TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const SIGN_IN_ERROR_MARK = '<!-- sign-in error -->';
const SIGN_IN_ERROR = '<p class="error" role="alert">That admin key is not valid.</p>';
const SIGN_IN_FAILED = 'signin=failed';

interface Asset {
  body: Buffer;
  type: string;
}

/** Read once at start-up: a handful of small files. */
function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(ASSETS_DIR)) {
    const type = CONTENT_TYPES[extname(name)];
    if (type) assets.set(name, { body: readFileSync(new URL(name, ASSETS_DIR)), type });
  }
  return assets;
}

const page = (name: string) => readFileSync(new URL(name, CONSOLE_DIR), 'utf8');

function sendHtml(reply: FastifyReply, html: string, status = 200) {
  return reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html);
}

export async function registerConsoleRoutes(app: FastifyInstance, deps: { key: string | undefined }) {
  const key = deps.key;
  // Graph's 404 rather than the unknown-path handler's "Invalid version: console" (a 400).
  const notFound = async () => {
    throw graphErrors.notFound('Resource not found.');
  };
  if (!key) {
    app.all(CONSOLE_PATH, notFound);
    app.all(`${CONSOLE_PATH}/*`, notFound);
    return;
  }
  const assets = loadAssets();
  const consolePage = page('index.html');
  const signInPage = page('sign-in.html');
  const signIn = (reply: FastifyReply, failed: boolean, status = 200) =>
    sendHtml(reply, signInPage.replace(SIGN_IN_ERROR_MARK, failed ? SIGN_IN_ERROR : ''), status);
  /** Signs the browser in and sends it to /console, so the key leaves the address bar and history. */
  const signedIn = (request: FastifyRequest, reply: FastifyReply) =>
    reply.header('set-cookie', sessionCookie(key, request)).header('cache-control', 'no-store').redirect(CONSOLE_PATH, 303);

  await app.register(async (console_) => {
    // Referrer-Policy no-referrer matters here: the first address carries the key.
    console_.addHook('onSend', async (_request, reply) => {
      setPageSecurityHeaders(reply);
    });
    // The sign-in form's body; the rest of the server takes JSON only.
    console_.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });

    registerResource(console_, CONSOLE_PATH, {
      GET: {
        handler: async (request, reply) => {
          const query = request.query as Record<string, unknown>;
          if (query.key !== undefined) {
            if (typeof query.key === 'string' && adminKeyMatches(key, query.key)) return signedIn(request, reply);
            return reply.header('cache-control', 'no-store').redirect(`${CONSOLE_PATH}?${SIGN_IN_FAILED}`, 303);
          }
          if (hasConsoleSession(request, key)) return sendHtml(reply, consolePage);
          return signIn(reply, query.signin === 'failed');
        },
      },
    });
    registerResource(console_, `${CONSOLE_PATH}/sign-in`, {
      POST: {
        handler: async (request, reply) => {
          const presented = (request.body as Record<string, unknown> | undefined)?.key;
          if (typeof presented === 'string' && adminKeyMatches(key, presented)) return signedIn(request, reply);
          return signIn(reply, true, 401);
        },
      },
    });
    registerResource(console_, `${CONSOLE_PATH}/sign-out`, {
      POST: {
        handler: async (request, reply) => {
          if (!isSameOriginRequest(request)) throw crossOriginRefused();
          return reply.header('set-cookie', clearedSessionCookie()).redirect(CONSOLE_PATH, 303);
        },
      },
    });
    registerResource(console_, `${CONSOLE_PATH}/assets/:name`, {
      GET: {
        handler: async (request, reply) => {
          const asset = assets.get((request.params as { name: string }).name);
          if (!asset) return notFound();
          return reply.type(asset.type).header('cache-control', 'no-cache').send(asset.body);
        },
      },
    });
    console_.all(`${CONSOLE_PATH}/*`, notFound);
  });
}
