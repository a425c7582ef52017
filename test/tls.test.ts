// `serve --tls`: a local CA made once and reused, HTTPS that Node accepts with that CA (and only
// with it), the printed NODE_EXTRA_CA_CERTS line, an operator's own certificate, the old
// @microsoft/microsoft-graph-client (tokens only over https) and the Kiota SDK through it.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { type CliServer, ROOT, killAllChildren, runCli, startCliServer, within } from './helpers/cli.js';
import { httpsRequest, httpsStatus } from './helpers/https.js';
import { tempDir } from './helpers/server.js';
import { ensureLocalTls } from '../src/tls/local-tls.js';
import { tlsDirOf } from '../src/tls/server-tls.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const EXTRA_CA_LINE = /^\s*NODE_EXTRA_CA_CERTS=(\S+)$/m;

let dir: string;
before(() => {
  dir = tempDir('graph-meetings-tls-');
});
after(killAllChildren);

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

function startTls(args: string[], caFile: string): Promise<CliServer> {
  return startCliServer(['--port', '0', '--log-level', 'warn', ...args], { healthz: (url) => httpsStatus(readFileSync(caFile, 'utf8'))(url) });
}

async function mintToken(db: string): Promise<string> {
  const minted = await runCli(['token', '--user', 'alice@contoso.example', '--db', db]);
  assert.equal(minted.code, 0, minted.stderr);
  return minted.stdout.trim();
}

/** Runs test/helpers/tls-client.ts in a child node process with the given environment. */
async function runClient(env: Record<string, string>, ...args: string[]): Promise<{ code: number | null; result: Record<string, unknown> }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'NODE_EXTRA_CA_CERTS' && name !== 'NODE_TEST_CONTEXT' && name !== 'NODE_OPTIONS'));
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/helpers/tls-client.ts'), ...args], { cwd: ROOT, env: { ...clean, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const code = await within(new Promise<number | null>((resolve) => child.once('close', resolve)), 30_000, `tls-client ${args[0]}`);
  const line = stdout.trim().split('\n').pop() ?? '';
  assert.ok(line.startsWith('{'), `no result from tls-client ${args[0]}: ${stdout}\n${stderr}`);
  return { code, result: JSON.parse(line) as Record<string, unknown> };
}

describe('serve --tls with the local CA', () => {
  let db: string;
  let tlsDir: string;
  let server: CliServer;
  let ca: string;

  before(async () => {
    db = `sqlite:${join(dir, 'local', 'meetings.db')}`;
    tlsDir = join(dir, 'local', 'tls');
    server = await startTls(['--tls', '--db', db], join(tlsDir, 'ca.pem'));
    ca = readFileSync(join(tlsDir, 'ca.pem'), 'utf8');
  });
  after(async () => {
    await server?.stop();
  });

  test('creates ca.pem, ca-key.pem (0600), server.pem and server-key.pem (0600) beside the SQLite file', () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    for (const name of ['ca.pem', 'ca-key.pem', 'server.pem', 'server-key.pem']) assert.ok(existsSync(join(tlsDir, name)), name);
    assert.equal(statSync(join(tlsDir, 'ca-key.pem')).mode & 0o777, 0o600);
    assert.equal(statSync(join(tlsDir, 'server-key.pem')).mode & 0o777, 0o600);
    const caCert = new X509Certificate(ca);
    assert.equal(caCert.ca, true);
    const serverCert = new X509Certificate(readFileSync(join(tlsDir, 'server.pem')));
    assert.ok(serverCert.verify(caCert.publicKey), 'server certificate signed by the CA');
    const years = (Date.parse(caCert.validTo) - Date.now()) / (365 * DAY_MS);
    assert.ok(years > 9.9 && years < 10.1, `CA valid ~10 years, got ${years}`);
    const days = (Date.parse(serverCert.validTo) - Date.now()) / DAY_MS;
    assert.ok(days > 360 && days < 370, `server certificate valid ~1 year, got ${days}`);
  });

  test('prints the NODE_EXTRA_CA_CERTS line with the absolute path of ca.pem', () => {
    assert.equal(EXTRA_CA_LINE.exec(server.stdout())?.[1], join(tlsDir, 'ca.pem'));
  });

  test('HTTPS is accepted with the CA and rejected without it', async () => {
    assert.equal((await httpsRequest(`${server.url}/healthz`, { ca })).status, 200);
    await assert.rejects(httpsRequest(`${server.url}/healthz`), (error: NodeJS.ErrnoException) => {
      assert.match(error.code ?? '', /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/);
      return true;
    });
  });

  test('the certificate names localhost, 127.0.0.1 and ::1', async () => {
    // Connected to 127.0.0.1, verified as "localhost": Node checks the name against the SANs.
    const { peerCertificate } = await httpsRequest(`${server.url}/healthz`, { ca, servername: 'localhost' });
    for (const name of ['localhost', '127.0.0.1', '::1']) assert.equal(checkServerIdentity(name, peerCertificate), undefined, name);
    assert.ok(checkServerIdentity('example.com', peerCertificate as PeerCertificate) instanceof Error, 'other names are not covered');
  });

  test('@odata.context and joinWebUrl use https', async () => {
    const token = await mintToken(db);
    const response = await httpsRequest(`${server.url}/v1.0/me/onlineMeetings/createOrGet`, {
      ca,
      headers: { authorization: `Bearer ${token}` },
      json: { externalId: 'https-links' },
    });
    assert.equal(response.status, 201, response.body);
    const body = JSON.parse(response.body) as { '@odata.context': string; joinWebUrl: string };
    assert.ok(body['@odata.context'].startsWith(`${server.url}/v1.0/$metadata`), body['@odata.context']);
    assert.ok(body.joinWebUrl.startsWith('https://'), body.joinWebUrl);
  });

  test('a child process with the printed NODE_EXTRA_CA_CERTS line fetches over https; without it, it fails', async () => {
    const [, caFile] = EXTRA_CA_LINE.exec(server.stdout())!;
    const trusted = await runClient({ NODE_EXTRA_CA_CERTS: caFile! }, 'fetch', server.url);
    assert.deepEqual(trusted, { code: 0, result: { status: 200 } });
    const untrusted = await runClient({}, 'fetch', server.url);
    assert.equal(untrusted.code, 1);
    assert.match(String(untrusted.result.code), /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
  });

  test('@microsoft/microsoft-graph-client 3.x creates a meeting with createOrGet over --tls (customHosts)', async () => {
    const token = await mintToken(db);
    const env = { NODE_EXTRA_CA_CERTS: join(tlsDir, 'ca.pem') };
    const first = await runClient(env, 'old-client', server.url, token, 'old-client-meeting');
    assert.equal(first.code, 0, JSON.stringify(first.result));
    assert.match(String(first.result.id), /\S/);
    assert.ok(String(first.result.context).startsWith(`${server.url}/v1.0/`), String(first.result.context));
    const again = await runClient(env, 'old-client', server.url, token, 'old-client-meeting');
    assert.equal(again.result.id, first.result.id, 'createOrGet returns the same meeting');
  });

  test('the official Graph SDK (Kiota) creates a meeting over https', async () => {
    const token = await mintToken(db);
    const { code, result } = await runClient({ NODE_EXTRA_CA_CERTS: join(tlsDir, 'ca.pem') }, 'kiota', server.url, token, 'kiota-meeting');
    assert.equal(code, 0, JSON.stringify(result));
    assert.match(String(result.id), /\S/);
    assert.ok(String(result.joinWebUrl).startsWith('https://'));
  });

  test('a second start reuses the same CA and server certificate', async () => {
    const before = { ca: fingerprint(ca), server: readFileSync(join(tlsDir, 'server.pem'), 'utf8') };
    const second = await startTls(['--tls', '--db', db], join(tlsDir, 'ca.pem'));
    try {
      const { peerCertificate } = await httpsRequest(`${second.url}/healthz`, { ca });
      assert.equal(fingerprint(readFileSync(join(tlsDir, 'ca.pem'), 'utf8')), before.ca);
      assert.equal(readFileSync(join(tlsDir, 'server.pem'), 'utf8'), before.server);
      assert.equal(peerCertificate.fingerprint256, fingerprint(before.server));
    } finally {
      await second.stop();
    }
  });
});

describe('the local CA on disk', () => {
  test('--tls-dir defaults to tls/ beside the SQLite file, ./data/tls with PostgreSQL', () => {
    assert.equal(tlsDirOf({ db: 'sqlite:/srv/gm/meetings.db' }), '/srv/gm/tls');
    assert.equal(tlsDirOf({ db: 'sqlite:./here/m.db' }), resolve('here/tls'));
    assert.equal(tlsDirOf({ db: 'postgres://app@db.example:5432/meetings' }), resolve('data/tls'));
    assert.equal(tlsDirOf({ db: 'postgres://app@db.example/meetings', tlsDir: 'certs' }), resolve('certs'));
  });

  test('processes starting together on a fresh --tls-dir end up with one CA', async () => {
    const tlsDir = join(dir, 'race', 'certs');
    const db = `sqlite:${join(dir, 'race', 'meetings.db')}`;
    const made = await Promise.all(Array.from({ length: 4 }, () => ensureLocalTls(tlsDir)));
    const servers = await Promise.all(
      [0, 1, 2].map(() => startTls(['--tls', '--tls-dir', tlsDir, '--db', db], join(tlsDir, 'ca.pem'))),
    );
    try {
      const ca = readFileSync(join(tlsDir, 'ca.pem'), 'utf8');
      const caCert = new X509Certificate(ca);
      for (const tls of made) assert.ok(new X509Certificate(tls.cert).verify(caCert.publicKey), 'in-process callers got certificates of the one CA');
      for (const server of servers) assert.equal((await httpsRequest(`${server.url}/healthz`, { ca })).status, 200);
      assert.ok(readFileSync(join(tlsDir, 'ca-key.pem'), 'utf8').includes(ca), 'the CA key file holds the CA certificate it belongs to');
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
    }
  });

  test('an expired or broken server certificate is replaced; the CA is kept', async () => {
    const tlsDir = join(dir, 'renew');
    const first = await ensureLocalTls(tlsDir);
    const caBefore = fingerprint(readFileSync(first.caFile, 'utf8'));
    const inTwoYears = await ensureLocalTls(tlsDir, Date.now() + 2 * 365 * DAY_MS);
    assert.notEqual(fingerprint(inTwoYears.cert), fingerprint(first.cert), 'renewed when expired');
    writeFileSync(join(tlsDir, 'server.pem'), readFileSync(first.caFile)); // not the key's certificate
    const repaired = await ensureLocalTls(tlsDir);
    assert.ok(new X509Certificate(repaired.cert).checkPrivateKey((await import('node:crypto')).createPrivateKey(repaired.key)));
    assert.ok(new X509Certificate(readFileSync(join(tlsDir, 'server.pem'))).checkHost('localhost'));
    assert.equal(fingerprint(readFileSync(first.caFile, 'utf8')), caBefore);
    const again = await ensureLocalTls(tlsDir);
    assert.equal(fingerprint(again.cert), fingerprint(repaired.cert), 'a valid certificate is reused');
  });

  test('a server certificate of the CA that lacks one of the names is replaced; one that has them all is kept', async () => {
    const tlsDir = join(dir, 'sans');
    await ensureLocalTls(tlsDir);
    const issueWithOpenssl = (sans: string) => {
      const extFile = join(tlsDir, 'ext.cnf');
      writeFileSync(extFile, `subjectAltName=${sans}\n`);
      execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost',
        '-keyout', join(tlsDir, 'server-key.pem'), '-out', join(tlsDir, 'server.csr')], { stdio: 'ignore' });
      execFileSync('openssl', ['x509', '-req', '-in', join(tlsDir, 'server.csr'), '-CA', join(tlsDir, 'ca.pem'), '-CAkey', join(tlsDir, 'ca-key.pem'),
        '-CAcreateserial', '-days', '30', '-extfile', extFile, '-out', join(tlsDir, 'server.pem')], { stdio: 'ignore' });
      return readFileSync(join(tlsDir, 'server.pem'), 'utf8');
    };
    const withoutIpv6 = issueWithOpenssl('DNS:localhost,IP:127.0.0.1');
    const replaced = await ensureLocalTls(tlsDir);
    assert.notEqual(fingerprint(replaced.cert), fingerprint(withoutIpv6));
    assert.equal(new X509Certificate(replaced.cert).checkIP('::1'), '::1');
    const complete = issueWithOpenssl('DNS:localhost,IP:127.0.0.1,IP:::1');
    assert.equal(fingerprint((await ensureLocalTls(tlsDir)).cert), fingerprint(complete));
  });
});

describe('--tls-cert / --tls-key', () => {
  let certFile: string;
  let keyFile: string;
  before(() => {
    certFile = join(dir, 'operator.pem');
    keyFile = join(dir, 'operator-key.pem');
    // An operator's certificate from another tool (RSA, self-signed), not from our CA code.
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', keyFile, '-out', certFile,
    ], { stdio: 'ignore' });
  });

  test("serves the operator's certificate and makes no local CA", async () => {
    const db = `sqlite:${join(dir, 'operator', 'meetings.db')}`;
    const operatorCa = readFileSync(certFile, 'utf8');
    const server = await startCliServer(['--port', '0', '--log-level', 'warn', '--db', db, '--tls-cert', certFile, '--tls-key', keyFile], {
      healthz: httpsStatus(operatorCa),
    });
    try {
      const { status, peerCertificate } = await httpsRequest(`${server.url}/healthz`, { ca: operatorCa });
      assert.equal(status, 200);
      assert.equal(peerCertificate.fingerprint256, fingerprint(operatorCa));
      assert.doesNotMatch(server.stdout(), /NODE_EXTRA_CA_CERTS/);
      assert.equal(existsSync(join(dir, 'operator', 'tls')), false);
    } finally {
      await server.stop();
    }
  });

  const failures: [string, () => string[], RegExp][] = [
    ['--tls-cert without --tls-key', () => ['--tls-cert', certFile], /--tls-cert and --tls-key go together/],
    ['--tls-key without --tls-cert', () => ['--tls-key', keyFile], /--tls-cert and --tls-key go together/],
    ['a missing key file', () => ['--tls-cert', certFile, '--tls-key', join(dir, 'nope.pem')], /cannot read --tls-key '.*nope\.pem': ENOENT/],
    ['a certificate file that is not PEM', () => ['--tls-cert', keyFile, '--tls-key', keyFile], /invalid --tls-cert/],
    ['a key file that is not a key', () => ['--tls-cert', certFile, '--tls-key', certFile], /invalid --tls-key/],
    ['a key of another certificate', () => ['--tls-cert', certFile, '--tls-key', otherKey()], /is not the key of --tls-cert/],
  ];
  const otherKey = () => {
    const path = join(dir, 'other-key.pem');
    if (!existsSync(path)) execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path], { stdio: 'ignore' });
    return path;
  };
  for (const [name, args, message] of failures) {
    test(`${name}: one ConfigError line, exit 2`, async () => {
      const result = await runCli(['serve', '--port', '0', '--db', `sqlite:${join(dir, 'bad', 'meetings.db')}`, ...args()]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /^graph-meetings: [^\n]+\n$/);
      assert.match(result.stderr, message);
    });
  }
});

test('--workers 2 --tls: both workers serve the one certificate', async () => {
  const db = `sqlite:${join(dir, 'workers', 'meetings.db')}`;
  const caFile = join(dir, 'workers', 'tls', 'ca.pem');
  const server = await startTls(['--tls', '--workers', '2', '--db', db], caFile);
  try {
    const ca = readFileSync(caFile, 'utf8');
    const responses = await Promise.all(Array.from({ length: 8 }, () => httpsRequest(`${server.url}/healthz`, { ca })));
    assert.deepEqual(new Set(responses.map((r) => r.status)), new Set([200]));
    assert.equal(new Set(responses.map((r) => r.peerCertificate.fingerprint256)).size, 1);
    assert.equal(EXTRA_CA_LINE.exec(server.stdout())?.[1], caFile);
  } finally {
    await server.stop();
  }
});
