// A directory user's name and password, checked the same way by the password grant and the sign-in
// page. An unknown name costs the same hash check as a wrong password, so timing tells no names.
import type { DirectoryUser } from '../../domain/directory.js';
import type { Store } from '../../store/store.js';
import { hashCredential, verifyCredential } from '../credential-hash.js';

let decoyHash: Promise<string> | undefined;

/** By userPrincipalName or object id: in `tenantId`, or (common) the one tenant holding that name. */
async function userNamed(store: Store, tenantId: string | undefined, name: string): Promise<DirectoryUser | undefined> {
  if (tenantId) return store.findUser(tenantId, name);
  const matches = await store.findUsersByUpn(name);
  return matches.length === 1 ? matches[0] : undefined;
}

/** The user when the password is theirs; undefined otherwise (whichever part was wrong). */
export async function signInUser(store: Store, tenantId: string | undefined, name: string, password: string): Promise<DirectoryUser | undefined> {
  const user = name ? await userNamed(store, tenantId, name) : undefined;
  if (!user) {
    decoyHash ??= hashCredential('decoy password');
    await verifyCredential(password, await decoyHash);
    return undefined;
  }
  return (await store.directoryAdmin.verifyUserPassword(user.tenantId, user.id, password)) ? user : undefined;
}
