// What `serve` listens with: nothing (plain HTTP), the local CA's certificate (--tls), or an
// operator's own certificate and key (--tls-cert/--tls-key). Bad files fail start-up with one line.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type Config, ConfigError } from '../config/config.js';
import { parseDatabaseUrl } from '../store/open-store.js';
import { defaultTlsDir, ensureLocalTls } from './local-tls.js';

export interface ServerTls {
  key: string;
  cert: string;
  /** The local CA's certificate file (absolute), when this server made its own certificate. */
  caFile?: string;
}

export function tlsEnabled(config: Pick<Config, 'tls' | 'tlsCert' | 'tlsKey'>): boolean {
  return Boolean(config.tls || config.tlsCert || config.tlsKey);
}

export function tlsDirOf(config: Pick<Config, 'tlsDir' | 'db'>): string {
  if (config.tlsDir) return resolve(config.tlsDir);
  const db = parseDatabaseUrl(config.db);
  return defaultTlsDir(db.engine === 'sqlite' ? db.path : undefined);
}

async function readFlagFile(flag: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${flag} '${path}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

async function operatorCertificate(certPath: string, keyPath: string): Promise<ServerTls> {
  const [cert, key] = await Promise.all([readFlagFile('--tls-cert', certPath), readFlagFile('--tls-key', keyPath)]);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw new ConfigError(`invalid --tls-cert '${certPath}': expected a PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new ConfigError(`invalid --tls-key '${keyPath}': expected an unencrypted PEM private key`);
  }
  if (!certificate.checkPrivateKey(privateKey)) throw new ConfigError(`--tls-key '${keyPath}' is not the key of --tls-cert '${certPath}'`);
  return { key, cert };
}

export async function resolveServerTls(config: Config): Promise<ServerTls | undefined> {
  if (config.tlsCert && config.tlsKey) return operatorCertificate(config.tlsCert, config.tlsKey);
  if (!tlsEnabled(config)) return undefined;
  return ensureLocalTls(tlsDirOf(config));
}
