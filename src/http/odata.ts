// OData control information and media types (protocol §3–4).
import type { FastifyReply } from 'fastify';

export type ApiVersion = 'v1.0' | 'beta';
export const API_VERSIONS: readonly ApiVersion[] = ['v1.0', 'beta'];

export const ODATA_JSON = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';

/** `{base}/{version}/$metadata#{path}` */
export function odataContext(baseUrl: string, version: ApiVersion, path: string): string {
  return `${baseUrl}/${version}/$metadata#${path}`;
}

export function sendOData(reply: FastifyReply, status: number, body: unknown) {
  return reply.code(status).header('odata-version', '4.0').type(ODATA_JSON).send(body);
}

/** Whether the caller opted in to enum members declared after unknownFutureValue (spec §7.11). */
export function wantsUnknownEnumMembers(prefer: string | string[] | undefined): boolean {
  const values = Array.isArray(prefer) ? prefer.join(',') : (prefer ?? '');
  return values.split(',').some((v) => v.trim().toLowerCase() === 'include-unknown-enum-members');
}
