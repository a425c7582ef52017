// The key that guards the control API (`/__admin`). Configured by the operator, or in dev mode
// generated once and kept in the database, so every process on it accepts the same key.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store } from '../store/store.js';

const SETTING = 'admin-key';

/** The key to require, or undefined when the control API is off (oidc mode without a key). */
export async function resolveAdminKey(store: Store, options: { adminKey?: string; auth: 'dev' | 'oidc' }): Promise<string | undefined> {
  if (options.adminKey) return options.adminKey;
  if (options.auth !== 'dev') return undefined;
  return storedAdminKey(store);
}

/** The dev-mode key kept in the database (created on first use). */
export function storedAdminKey(store: Store): Promise<string> {
  return store.getOrCreateSetting(SETTING, async () => randomBytes(24).toString('base64url'));
}

/** Constant-time: both sides are hashed first, so neither content nor length leaks through timing. */
export function adminKeyMatches(expected: string, presented: string | undefined): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(expected), digest(presented ?? '')) && presented !== undefined;
}
