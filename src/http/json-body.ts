// The only body parser: JSON, size-limited by Fastify, depth-limited here so that no body can
// make validation or serialization recurse without bound.
import type { FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';
import { graphErrors } from './graph-errors.js';

export const MAX_JSON_DEPTH = 64;

/** Deepest nesting of objects/arrays in a JSON text, ignoring brackets inside strings. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > max) max = depth;
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
  return max;
}

export function registerJsonBodyParser(app: FastifyInstance) {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, text, done) => {
    const body = text as string;
    // An empty JSON body is an empty object: the route then names what is missing.
    if (body.trim() === '') return done(null, {});
    if (jsonDepth(body) > MAX_JSON_DEPTH) {
      return done(graphErrors.badRequest(`The request body nests JSON deeper than ${MAX_JSON_DEPTH} levels.`), undefined);
    }
    try {
      // Drops __proto__ / constructor.prototype members instead of letting them reach a merge.
      done(null, secureJson.parse(body, undefined, { protoAction: 'remove', constructorAction: 'remove' }));
    } catch {
      done(graphErrors.badRequest('Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.'), undefined);
    }
  });
}
