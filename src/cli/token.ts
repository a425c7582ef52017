// `graph-meetings token`: mint a dev-issuer token for a user or an application, printing only the token.
import { loadDevIssuer } from '../auth/dev-issuer.js';
import { checkDevTokenRequest, type DevTokenRequest, InvalidTokenRequest, mintDevToken } from '../auth/dev-tokens.js';
import { ConfigError, DEFAULT_CONFIG } from '../config/config.js';
import { loadDirectoryFile } from '../config/directory-file.js';
import { openStore } from '../store/open-store.js';

export interface TokenFlags extends Omit<DevTokenRequest, 'audience'> {
  db: string;
  /** --audience may be repeated; the token carries the first. */
  audience?: string[];
  directory?: string;
}

/** A usage mistake reads like every other bad flag: one line on stderr. */
function asUsageError(error: unknown): unknown {
  return error instanceof InvalidTokenRequest ? new ConfigError(`${error.message} (see graph-meetings token --help)`) : error;
}

export async function token(flags: TokenFlags): Promise<string> {
  const { db, directory, audience, ...fields } = flags;
  const request: DevTokenRequest = { ...fields, audience: audience?.[0] ?? DEFAULT_CONFIG.audiences[0]! };
  try {
    checkDevTokenRequest(request);
  } catch (error) {
    throw asUsageError(error);
  }
  const store = await openStore(db);
  try {
    if (directory) await store.seedDirectory(await loadDirectoryFile(directory));
    return await mintDevToken(await loadDevIssuer(store), store, request);
  } catch (error) {
    throw asUsageError(error);
  } finally {
    await store.close();
  }
}
