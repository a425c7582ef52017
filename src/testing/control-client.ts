// Calls to the control API (/__admin) of a server the helper started. A failed call throws
// ControlApiError carrying the status and Graph's error, so a test sees what the server said.
import type { GraphErrorBody } from './types.js';

export class ControlApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    /** Graph's `error` member, when the answer had one. */
    readonly graphError: GraphErrorBody | undefined,
  ) {
    super(`${method} /__admin${path} answered ${status}${graphError ? ` ${graphError.code}: ${graphError.message}` : ''}`);
    this.name = 'ControlApiError';
  }
}

export type ControlCall = <T>(method: string, path: string, body?: unknown) => Promise<T>;

/**
 * `describeServer` adds what the server process said when it cannot be reached (it may have died).
 */
export function controlClient(url: string, adminKey: string, describeServer: () => string): ControlCall {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    let response: Response;
    try {
      response = await fetch(`${url}/__admin${path}`, {
        method,
        headers: { authorization: `Bearer ${adminKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch (error) {
      const cause = (error as Error).cause ?? error;
      throw new Error(`graph-meetings at ${url} did not answer ${method} /__admin${path}: ${String(cause)}${describeServer()}`, { cause: error });
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!response.ok) throw new ControlApiError(method, path, response.status, (json as { error?: GraphErrorBody } | undefined)?.error);
    return json as T;
  };
}
