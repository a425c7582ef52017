// onRequest step of every API route: bearer token → principal → admission (faults, rate limits)
// → the user the call acts for. It runs before the body is read, so an anonymous caller learns
// nothing about body rules.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Authorizer, Caller, Owner } from '../auth/authorize.js';
import type { Operation } from '../auth/permissions.js';
import type { Principal } from '../auth/principal.js';
import type { TokenVerifier } from '../auth/token-verifier.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the verified token names (set before admission steps run). */
    principal?: Principal;
    /** What the route does, for the permission check (and the request log's guidance). */
    operation?: Operation;
    caller?: Caller;
    /** The fault rule that answered this request instead of the server, if one did. */
    fault?: { ruleId: string; respond: Record<string, unknown> };
  }
}

/**
 * A step every authenticated API request passes after its token is verified and before it is
 * authorized or served: the testing toolkit's faults and rate limits. It may throw a GraphError
 * (answered as usual), delay, or end the connection itself.
 */
export type AdmissionStep = (request: FastifyRequest, reply: FastifyReply, principal: Principal) => Promise<void>;

export function bearerToken(request: FastifyRequest): string | undefined {
  return bearerOf(request.headers.authorization);
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;
// Header values are Latin-1: these are all the characters \s matches in one.
const LATIN1_SPACES = [' ', '\t', '\n', '\r', '\v', '\f', '\u00a0'];

/** The token of an `Authorization: Bearer …` header value. */
export function bearerOf(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  // The usual form, found by a few memchr-speed scans: the regular expression walks a ~1 KB token
  // character by character on every request.
  if (header.startsWith('Bearer ') && header.length > 7) {
    const token = header.slice(7);
    if (!LATIN1_SPACES.some((space) => token.includes(space))) return token;
  }
  return BEARER.exec(header)?.[1];
}

/** Token verification plus the admission steps, shared by every API route. */
export class RequestGate {
  private readonly steps: AdmissionStep[] = [];

  constructor(private readonly verifier: TokenVerifier) {}

  use(step: AdmissionStep) {
    this.steps.push(step);
  }

  async admit(request: FastifyRequest, reply: FastifyReply): Promise<Principal> {
    const principal = await this.verifier.verify(bearerToken(request));
    request.principal = principal;
    for (const step of this.steps) await step(request, reply, principal);
    return principal;
  }
}

export function authenticate(gate: RequestGate, authorizer: Authorizer, operation: Operation, ownerOf: (request: FastifyRequest) => Owner) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    request.operation = operation;
    const principal = await gate.admit(request, reply);
    request.caller = await authorizer.authorize(principal, ownerOf(request), operation);
  };
}

/**
 * onRequest step of routes that need a valid token but no particular permission: $batch, whose
 * items are each authorized by their own route.
 */
export function authenticateToken(gate: RequestGate) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    await gate.admit(request, reply);
  };
}
