// The command line as a user runs it: `serve` (default dev auth) and `token`, flags and
// GRAPH_MEETINGS_* variables, start-up output, configuration errors, logs.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { type CliResult, type CliServer, killAllChildren, runCli, startCliServer, within } from './helpers/cli.js';
import { BOB, CONTOSO, CRM_APP, DIRECTORY } from './helpers/fixtures.js';
import { tempDir, writeDirectory } from './helpers/server.js';

const CREATE_OR_GET = '/v1.0/me/onlineMeetings/createOrGet';
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

let dir: string;
before(() => {
  dir = tempDir();
});
after(async () => {
  await killAllChildren();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `graph-meetings token ...`: exit 0, nothing on stderr, and stdout is exactly one JWT line. */
async function mintToken(args: string[], env?: Record<string, string>): Promise<string> {
  const result = await runCli(['token', ...args], { env });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, '');
  assert.match(result.stdout, /^[^\n]*\n$/, 'one line');
  const token = result.stdout.trimEnd();
  assert.match(token, JWT);
  return token;
}

async function json(response: Response): Promise<any> {
  return response.json();
}

describe('dev auth (the default): serve and token on one database', () => {
  const dbPath = () => join(dir, 'dev.db');
  const db = () => `sqlite:${dbPath()}`;
  let server: CliServer;
  let aliceToken: string;

  before(async () => {
    // Minted on a fresh database, before any server has run on it: the signing key is created
    // by `token` and stored in the database, where `serve` then finds it.
    aliceToken = await mintToken(['--user', 'alice@contoso.example', '--db', db()]);
    server = await startCliServer(['--port', '0', '--db', db(), '--log-level', 'info']);
  });
  after(async () => {
    await server?.stop();
  });

  test('a token minted before the server first started works: createOrGet 201 with alice as organizer', async () => {
    const response = await server.request(CREATE_OR_GET, { token: aliceToken, json: { externalId: 'cli-1' } });
    const body = await json(response);
    assert.equal(response.status, 201, JSON.stringify(body));
    assert.equal(body.participants.organizer.upn, 'alice@contoso.example');
    assert.equal(body.participants.organizer.identity.user.id, decodeJwt(aliceToken).oid);
  });

  test("the dev issuer's discovery document and JWKS verify a CLI token", async () => {
    const discovery = await json(await server.request('/dev-issuer/.well-known/openid-configuration'));
    assert.equal(typeof discovery.issuer, 'string');
    assert.ok(discovery.jwks_uri.startsWith(`${server.url}/`), discovery.jwks_uri);
    const keys = createRemoteJWKSet(new URL(discovery.jwks_uri));
    const { payload } = await jwtVerify(aliceToken, keys, { issuer: discovery.issuer, audience: 'https://graph.microsoft.com' });
    assert.equal(payload.upn, 'alice@contoso.example');
    assert.equal(payload.idtyp, 'user');
    assert.deepEqual(String(payload.scp).split(' ').sort(), ['OnlineMeetings.ReadWrite', 'User.Read']);
  });

  test('a token with only OnlineMeetings.Read cannot createOrGet (403)', async () => {
    const token = await mintToken(['--user', 'bob@x.example', '--scopes', 'OnlineMeetings.Read', '--db', db()]);
    assert.equal(decodeJwt(token).scp, 'OnlineMeetings.Read');
    const response = await server.request(CREATE_OR_GET, { token, json: { externalId: 'cli-read-only' } });
    assert.equal(response.status, 403);
    assert.equal((await json(response)).error.code, 'Forbidden');
  });

  test('start-up output names the listening URL, the database, the auth mode and a working token command', async () => {
    const out = server.stdout();
    assert.match(out, new RegExp(`^graph-meetings listening on ${server.url.replace(/\./g, '\\.')}[ \\n]`, 'm'));
    assert.ok(out.includes(db()), 'database');
    assert.match(out, /auth: dev\b/);
    const hint = /\$\(npx graph-meetings (token [^)]*)\)/.exec(out);
    assert.ok(hint, `no token command in: ${out}`);
    // The printed command, run as printed, gives a token this server accepts.
    const token = await mintToken(hint[1]!.split(' ').slice(1));
    const response = await server.request(CREATE_OR_GET, { token, json: { externalId: 'cli-from-hint' } });
    assert.equal(response.status, 201);
  });

  test('logs carry request ids but never the tokens', async () => {
    const good = await server.request(CREATE_OR_GET, { token: aliceToken, json: { externalId: 'cli-logs' } });
    assert.equal(good.status, 201);
    const [header, payload] = aliceToken.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(342)}`;
    const garbage = 'not-a-jwt-but-secret-0123456789abcdef';
    const rejected = [];
    for (const token of [forged, garbage]) {
      const response = await server.request(CREATE_OR_GET, { token, json: { externalId: 'cli-logs' } });
      assert.equal(response.status, 401);
      rejected.push(response.headers.get('request-id')!);
    }
    const ids = [good.headers.get('request-id')!, ...rejected];
    const output = () => server.stdout() + server.stderr();
    await within(
      (async () => {
        while (!ids.every((id) => output().includes(id))) await new Promise((resolve) => setTimeout(resolve, 20));
      })(),
      5_000,
      `request ids ${ids.join(', ')} in the log`,
    );
    for (const secret of [aliceToken, forged, garbage, payload!]) assert.ok(!output().includes(secret), 'a token was logged');
  });

  test('a token and a server started at the same time on a fresh database agree on the key', async () => {
    const fresh = `sqlite:${join(dir, 'dev-race.db')}`;
    const [token, racer] = await Promise.all([
      mintToken(['--user', 'erin@contoso.example', '--db', fresh]),
      startCliServer(['--port', '0', '--db', fresh, '--log-level', 'warn']),
    ]);
    try {
      const response = await racer.request(CREATE_OR_GET, { token, json: { externalId: 'cli-race' } });
      assert.equal(response.status, 201);
    } finally {
      await racer.stop();
    }
  });
});

describe('app tokens, a directory file and --public-url', () => {
  let server: CliServer;
  const db = () => `sqlite:${join(dir, 'apps.db')}`;

  before(async () => {
    // DIRECTORY grants CRM_APP globally in Contoso.
    const directory = writeDirectory(dir, DIRECTORY);
    server = await startCliServer([
      '--port', '0', '--db', db(), '--directory', directory, '--public-url', 'https://meet.example.org', '--log-level', 'warn',
    ]);
  });
  after(async () => {
    await server?.stop();
  });

  test('token --app --tenant is an application token that acts for a user under a global policy, not on /me', async () => {
    const token = await mintToken(['--app', CRM_APP.appId, '--tenant', CONTOSO, '--db', db()]);
    const claims = decodeJwt(token);
    assert.equal(claims.idtyp, 'app');
    assert.equal(claims.tid, CONTOSO);
    assert.equal(claims.appid, CRM_APP.appId);
    assert.deepEqual(claims.roles, ['OnlineMeetings.ReadWrite.All']);

    const created = await server.request(`/v1.0/users/${BOB.id}/onlineMeetings/createOrGet`, { token, json: { externalId: 'cli-app' } });
    const body = await json(created);
    assert.equal(created.status, 201, JSON.stringify(body));
    assert.equal(body.participants.organizer.identity.user.id, BOB.id);

    const me = await server.request(CREATE_OR_GET, { token, json: { externalId: 'cli-app' } });
    assert.equal(me.status, 400);
  });

  test('--public-url is the base of joinWebUrl and @odata.context', async () => {
    const token = await mintToken(['--user', BOB.upn, '--db', db()]);
    assert.equal(decodeJwt(token).oid, BOB.id, 'the directory user, not a new one');
    const response = await server.request(CREATE_OR_GET, { token, json: { externalId: 'cli-public-url' } });
    const body = await json(response);
    assert.equal(response.status, 201, JSON.stringify(body));
    assert.ok(body.joinWebUrl.startsWith('https://meet.example.org/l/meetup-join/'), body.joinWebUrl);
    assert.ok(body['@odata.context'].startsWith('https://meet.example.org/v1.0/$metadata#'), body['@odata.context']);
  });
});

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

test('GRAPH_MEETINGS_* variables configure serve and token', async () => {
  const dbUrl = `sqlite:${join(dir, 'env.db')}`;
  const port = await freePort();
  const env = {
    GRAPH_MEETINGS_DB: dbUrl,
    GRAPH_MEETINGS_PORT: String(port),
    GRAPH_MEETINGS_LOG_LEVEL: 'warn',
    GRAPH_MEETINGS_PUBLIC_URL: 'https://env.example.org',
  };
  const server = await startCliServer([], { env });
  try {
    assert.equal(server.url, `http://127.0.0.1:${port}`);
    assert.ok(server.stdout().includes(`database: ${dbUrl}`), server.stdout());
    const token = await mintToken(['--user', 'frida@contoso.example'], { GRAPH_MEETINGS_DB: dbUrl });
    const response = await server.request(CREATE_OR_GET, { token, json: { externalId: 'cli-env' } });
    const body = await json(response);
    assert.equal(response.status, 201, JSON.stringify(body));
    assert.ok(body.joinWebUrl.startsWith('https://env.example.org/'), body.joinWebUrl);
    assert.ok(!server.stdout().includes('"level":30'), 'no info logs at GRAPH_MEETINGS_LOG_LEVEL=warn');
  } finally {
    await server.stop();
  }
});

test('serve --help lists every option and the GRAPH_MEETINGS_ variables', async () => {
  const result = await runCli(['serve', '--help']);
  assert.equal(result.code, 0, result.stderr);
  for (const option of ['--host', '--port', '--db', '--auth', '--issuer', '--audience', '--directory', '--public-url', '--log-level', '--max-body']) {
    assert.match(result.stdout, new RegExp(`^\\s+${option} `, 'm'), option);
  }
  // Each option's variable is named after the whole option (--reject-v1-tokens once read ..._REJECT_V).
  const named = { help: null, tenant: 'GRAPH_MEETINGS_TENANTS' } as Record<string, string | null>;
  const unwrapped = result.stdout.replace(/\s+/g, ' ');
  for (const [, name] of result.stdout.matchAll(/^\s+(?:-\w, )?--([a-z0-9-]+)/gm)) {
    const variable = name! in named ? named[name!] : `GRAPH_MEETINGS_${name!.replace(/-/g, '_').toUpperCase()}`;
    if (variable) assert.ok(unwrapped.includes(`env: ${variable})`), `--${name}: ${variable}`);
  }
});

describe('invalid configuration: one line on stderr, non-zero exit, no stack trace', () => {
  const assertOneLineFailure = (result: CliResult) => {
    assert.notEqual(result.code, 0, 'exit code');
    assert.equal(result.signal, null);
    const lines = result.stderr.split('\n').filter((line) => line.trim() !== '');
    assert.equal(lines.length, 1, `stderr:\n${result.stderr}`);
    assert.match(lines[0]!, /^graph-meetings: \S/);
    assert.ok(!result.stderr.includes('    at '), 'stack trace');
    assert.ok(!result.stdout.includes('listening on'), 'did not start');
  };
  const serve = (args: string[], env?: Record<string, string>) =>
    runCli(['serve', '--port', '0', '--db', `sqlite:${join(dir, 'bad-config.db')}`, ...args], { env });

  const files = () => {
    const invalidJson = join(dir, 'invalid.json');
    writeFileSync(invalidJson, '{"tenants": [');
    const badGuid = join(dir, 'bad-guid.json');
    writeFileSync(badGuid, JSON.stringify({ tenants: [{ id: 'contoso', displayName: 'Contoso' }] }));
    return { invalidJson, badGuid };
  };

  const cases: Array<[string, () => Promise<CliResult>, RegExp]> = [
    ['--db mysql://x', () => serve(['--db', 'mysql://x']), /mysql:\/\/x/],
    ['GRAPH_MEETINGS_DB=mysql://x', () => runCli(['serve', '--port', '0'], { env: { GRAPH_MEETINGS_DB: 'mysql://x' } }), /mysql:\/\/x/],
    ['unreadable directory file', () => serve(['--directory', join(dir, 'missing', 'directory.json')]), /directory/],
    ['directory file that is not JSON', () => serve(['--directory', files().invalidJson]), /JSON/],
    ['directory file with a non-GUID tenant id', () => serve(['--directory', files().badGuid]), /tenants\/0\/id/],
    ['--auth oidc without --issuer', () => serve(['--auth', 'oidc']), /--issuer/],
    ['--auth oidc with an unreachable issuer', () => serve(['--auth', 'oidc', '--issuer', 'http://127.0.0.1:9']), /127\.0\.0\.1:9/],
    ['--port that is not a number', () => serve(['--port', 'eighty']), /--port/],
    ['token --db mysql://x', () => runCli(['token', '--user', 'a@b.example', '--db', 'mysql://x']), /mysql:\/\/x/],
  ];
  for (const [name, run, mentions] of cases) {
    test(name, async () => {
      const result = await run();
      assertOneLineFailure(result);
      assert.match(result.stderr, mentions);
    });
  }
});
