// What Graph answers for paths it does not serve (protocol §1): the first segment it cannot
// resolve is named in a 400; a version it does not know is a 400 too.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type GraphError, graphErrors, sendGraphError } from '../graph-errors.js';
import { API_VERSIONS, type ApiVersion } from '../odata.js';
import { decode } from '../odata-path.js';

const ROOT_SEGMENTS: Record<ApiVersion, readonly string[]> = {
  'v1.0': ['me', 'users', 'communications'],
  beta: ['me', 'users', 'communications', 'app'],
};

/** Why no route matched this path. */
export function unknownPathError(url: string): GraphError {
  const segments = url.split('?')[0]!.split('/').filter(Boolean).map(decode);
  const [version, root, ...rest] = segments;
  // The control API's paths, when it is off or the path is not one of its own.
  if (!version || version.toLowerCase() === '__admin') return graphErrors.notFound('Resource not found.');
  const known = API_VERSIONS.find((v) => v.toLowerCase() === version.toLowerCase());
  if (!known) return graphErrors.badRequest(`Invalid version: ${version}`);
  if (!root || !ROOT_SEGMENTS[known].includes(root.toLowerCase())) {
    return graphErrors.badRequest(`Resource not found for the segment '${root ?? ''}'.`);
  }
  // /users needs a user before its navigation; the rest address onlineMeetings directly.
  const navigation = root.toLowerCase() === 'users' ? rest.slice(1) : rest;
  const [collection] = navigation;
  if (collection === undefined) return graphErrors.badRequest(`Resource not found for the segment '${root}'.`);
  if (collection.toLowerCase() !== 'onlinemeetings') {
    return graphErrors.badRequest(`Resource not found for the segment '${collection}'.`);
  }
  const unresolved = navigation[2] ?? navigation[1] ?? collection;
  return graphErrors.badRequest(`Resource not found for the segment '${unresolved}'.`);
}

export function registerUnknownRouteHandler(app: FastifyInstance) {
  app.setNotFoundHandler((request: FastifyRequest, reply) => sendGraphError(request, reply, unknownPathError(request.url)));
}
