// onRequest step of every API route: bearer token → principal → the user the call acts for.
// It runs before the body is read, so an anonymous caller learns nothing about body rules.
import type { FastifyRequest } from 'fastify';
import type { Authorizer, Caller, Owner } from '../auth/authorize.js';
import type { Operation } from '../auth/permissions.js';
import type { TokenVerifier } from '../auth/token-verifier.js';

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
}

function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

export function authenticate(
  verifier: TokenVerifier,
  authorizer: Authorizer,
  operation: Operation,
  ownerOf: (request: FastifyRequest) => Owner,
) {
  return async (request: FastifyRequest) => {
    const principal = await verifier.verify(bearerToken(request));
    request.caller = await authorizer.authorize(principal, ownerOf(request), operation);
  };
}

/**
 * onRequest step of routes that need a valid token but no particular permission: $batch, whose
 * items are each authorized by their own route.
 */
export function authenticateToken(verifier: TokenVerifier) {
  return async (request: FastifyRequest) => {
    await verifier.verify(bearerToken(request));
  };
}
