// The local CA and server certificate of `serve --tls`, kept in one directory and made once.
// Several processes may start together on the same directory (--workers, or a test's servers), so
// every file appears whole (written aside, then renamed or hard-linked into place) and the CA is
// created exclusively: whoever links ca-key.pem first wins, the others read the winner's.
import { randomBytes, X509Certificate, createPrivateKey } from 'node:crypto';
import { chmod, link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError } from '../config/config.js';
import type { PemPair } from './certificates.js';
import { SERVER_DNS_NAMES, SERVER_IP_ADDRESSES } from './server-names.js';

export const TLS_FILES = {
  /** The CA certificate alone: what clients trust (NODE_EXTRA_CA_CERTS). */
  ca: 'ca.pem',
  /** The CA's private key followed by its certificate: one file, so both appear in one step. */
  caKey: 'ca-key.pem',
  server: 'server.pem',
  serverKey: 'server-key.pem',
} as const;

/** A server certificate this close to expiry is replaced at start-up. */
const RENEW_BEFORE_MS = 24 * 60 * 60 * 1000;

export interface LocalTls {
  key: string;
  cert: string;
  /** Absolute path of the CA certificate clients must trust. */
  caFile: string;
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

/** Writes `content` beside `path` under a unique name, with `mode` whatever the umask. */
async function writeAside(path: string, content: string, mode: number): Promise<string> {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, content, { mode });
  await chmod(temp, mode);
  return temp;
}

/** Replaces `path` in one step (readers see the old or the new content, never a part). */
async function writeAtomically(path: string, content: string, mode: number): Promise<void> {
  await rename(await writeAside(path, content, mode), path);
}

/** Creates `path` with `content` unless it exists; true when this call created it. */
async function createExclusively(path: string, content: string, mode: number): Promise<boolean> {
  const temp = await writeAside(path, content, mode);
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

function pemBlocks(text: string, label: string): string[] {
  return text.match(new RegExp(`-----BEGIN ${label}-----[\\s\\S]+?-----END ${label}-----\\n?`, 'g')) ?? [];
}

function splitCaBundle(text: string, path: string): PemPair {
  const [keyPem] = pemBlocks(text, 'PRIVATE KEY');
  const [certPem] = pemBlocks(text, 'CERTIFICATE');
  if (!keyPem || !certPem) throw new ConfigError(`${path} is damaged (expected a private key and a certificate); remove the TLS directory to start a new CA`);
  return { keyPem, certPem };
}

async function loadOrCreateCa(dir: string): Promise<PemPair> {
  const path = join(dir, TLS_FILES.caKey);
  let bundle = await readIfExists(path);
  if (bundle === undefined) {
    const { createCertificateAuthority } = await import('./certificates.js');
    const ca = await createCertificateAuthority();
    const created = await createExclusively(path, ca.keyPem + ca.certPem, 0o600);
    bundle = created ? ca.keyPem + ca.certPem : await readFile(path, 'utf8');
  }
  const ca = splitCaBundle(bundle, path);
  // Derived from the bundle, so every process writes the same bytes.
  const caFile = join(dir, TLS_FILES.ca);
  if ((await readIfExists(caFile)) !== ca.certPem) await writeAtomically(caFile, ca.certPem, 0o644);
  return ca;
}

/** The pair on disk when it still serves: matching, issued by this CA, covering our names, not expiring. */
function usableServerPair(pair: Partial<PemPair>, ca: X509Certificate, now: number): pair is PemPair {
  if (!pair.keyPem || !pair.certPem) return false;
  try {
    const cert = new X509Certificate(pair.certPem);
    return (
      cert.checkPrivateKey(createPrivateKey(pair.keyPem)) &&
      cert.checkIssued(ca) &&
      cert.verify(ca.publicKey) &&
      Date.parse(cert.validTo) - now > RENEW_BEFORE_MS &&
      SERVER_DNS_NAMES.every((host) => cert.checkHost(host, { wildcards: false }) === host) &&
      SERVER_IP_ADDRESSES.every((ip) => cert.checkIP(ip) === ip)
    );
  } catch {
    return false; // unreadable: replace it
  }
}

/** Default --tls-dir: tls/ beside the SQLite file, else ./data/tls. */
export function defaultTlsDir(sqlitePath: string | undefined): string {
  if (sqlitePath && sqlitePath !== ':memory:') return resolve(sqlitePath, '..', 'tls');
  return resolve('data', 'tls');
}

export async function ensureLocalTls(dir: string, now = Date.now()): Promise<LocalTls> {
  const absolute = resolve(dir);
  try {
    await mkdir(absolute, { recursive: true });
  } catch (error) {
    throw new ConfigError(`cannot create --tls-dir ${absolute}: ${(error as Error).message}`);
  }
  const ca = await loadOrCreateCa(absolute);
  const keyPath = join(absolute, TLS_FILES.serverKey);
  const certPath = join(absolute, TLS_FILES.server);
  let server: Partial<PemPair> = { keyPem: await readIfExists(keyPath), certPem: await readIfExists(certPath) };
  if (!usableServerPair(server, new X509Certificate(ca.certPem), now)) {
    const { issueServerCertificate } = await import('./certificates.js');
    const issued = await issueServerCertificate(ca, now);
    // Two processes renewing at once may each leave one file of their pair; the next start sees
    // the mismatch and renews again. Each process serves the pair it holds in memory.
    await writeAtomically(keyPath, issued.keyPem, 0o600);
    const chain = issued.certPem + ca.certPem; // the CA included, as a full chain
    await writeAtomically(certPath, chain, 0o644);
    server = { keyPem: issued.keyPem, certPem: chain };
  }
  return { key: server.keyPem!, cert: server.certPem!, caFile: join(absolute, TLS_FILES.ca) };
}
