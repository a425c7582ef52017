// Client secrets and user passwords are kept only as scrypt hashes (a salt per value, the cost
// parameters stored with the hash, so they can be raised later without breaking stored values).
import { createHash, randomBytes, scrypt, type ScryptOptions, timingSafeEqual, X509Certificate } from 'node:crypto';

const COST = { N: 16_384, r: 8, p: 1 };
const KEY_LENGTH = 32;

function derive(secret: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret.normalize('NFC'), salt, KEY_LENGTH, { ...options, maxmem: 64 * 1024 * 1024 }, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** `scrypt$N$r$p$<salt base64url>$<key base64url>`. */
export async function hashCredential(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(secret, salt, COST);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export function isCredentialHash(value: string): boolean {
  return /^scrypt\$\d+\$\d+\$\d+\$[\w-]+\$[\w-]+$/.test(value);
}

/** Constant time in the secret's content; false (never a throw) for a malformed stored hash. */
export async function verifyCredential(secret: string, stored: string): Promise<boolean> {
  if (!isCredentialHash(stored)) return false;
  const [, n, r, p, salt, key] = stored.split('$') as [string, string, string, string, string, string];
  const expected = Buffer.from(key, 'base64url');
  try {
    const actual = await derive(secret, Buffer.from(salt, 'base64url'), { N: Number(n), r: Number(r), p: Number(p) });
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  } catch {
    return false;
  }
}

/** What Entra shows of a secret after creation: its first three characters. */
export function secretHint(secret: string): string {
  return secret.slice(0, 3);
}

/** A new client secret in Entra's style (40 characters, URL-safe). */
export function newClientSecret(): string {
  return randomBytes(30).toString('base64url');
}

/** The certificate's SHA-1 thumbprint (upper-case hex, as Entra lists it); throws on a non-certificate. */
export function certificateThumbprint(pem: string): string {
  const certificate = new X509Certificate(pem);
  return createHash('sha1').update(certificate.raw).digest('hex').toUpperCase();
}
