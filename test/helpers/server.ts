// Starts the real server (buildApp) on a real port with a real SQLite file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import type { Config } from '../../src/config/config.js';
import type { TestIssuer } from './test-issuer.js';

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  dir: string;
  dbPath: string;
  /** The control API with the admin key: path below /__admin, e.g. '/clock'. */
  admin(method: string, path: string, json?: unknown): Promise<Response>;
  /** fetch against this server: path is relative to the server root, e.g. '/v1.0/me/...'. */
  request(path: string, init?: RequestInit & { token?: string; json?: unknown }): Promise<Response>;
  close(): Promise<void>;
}

/** The admin key every test server is started with (unless a test passes its own). */
export const TEST_ADMIN_KEY = 'test-admin-key-0123456789';

/** Calls the control API of the server at `url` with `key`. */
export function adminFetch(url: string, method: string, path: string, json?: unknown, key = TEST_ADMIN_KEY): Promise<Response> {
  return fetch(`${url}/__admin${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(json === undefined ? {} : { body: JSON.stringify(json) }),
  });
}

export function tempDir(prefix = 'graph-meetings-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeDirectory(dir: string, directory: unknown): string {
  const path = join(dir, 'directory.json');
  writeFileSync(path, JSON.stringify(directory));
  return path;
}

export async function startServer(options: { issuer?: TestIssuer; directory?: unknown; config?: Partial<Config>; dir?: string } = {}): Promise<RunningServer> {
  const dir = options.dir ?? tempDir();
  const dbPath = join(dir, 'meetings.db');
  const config: Partial<Config> = {
    db: `sqlite:${dbPath}`,
    port: 0,
    logLevel: 'silent',
    adminKey: TEST_ADMIN_KEY,
    ...(options.issuer ? { auth: 'oidc', issuer: options.issuer.url } : {}),
    ...(options.directory ? { directory: writeDirectory(dir, options.directory) } : {}),
    ...options.config,
  };
  const app = await buildApp(config);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    app,
    url,
    dir,
    dbPath,
    admin: (method, path, json) => adminFetch(url, method, path, json),
    request(path, init = {}) {
      const { token, json, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
      let body = rest.body;
      if (json !== undefined) {
        body = JSON.stringify(json);
        if (!headers.has('content-type')) headers.set('content-type', 'application/json');
      }
      return fetch(`${url}${path}`, { ...rest, headers, body });
    },
    async close() {
      await app.close();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
