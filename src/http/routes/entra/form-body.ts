// application/x-www-form-urlencoded bodies, as the token endpoint and form_post sign-in take them:
// a plain object of strings; a parameter given twice is refused rather than guessed at.
import type { FastifyInstance } from 'fastify';
import { entraErrors } from '../../../auth/entra/errors.js';

const FORM_BODY_LIMIT = 64 * 1024;

export function parseForm(text: string): Record<string, string> {
  const fields: Record<string, string> = Object.create(null);
  for (const [name, value] of new URLSearchParams(text)) {
    if (name in fields) throw entraErrors.invalidParameter(name, 'given more than once');
    fields[name] = value;
  }
  return fields;
}

/** Adds the form parser to `scope` (an encapsulated plugin: the rest of the server keeps JSON only). */
export function registerFormBody(scope: FastifyInstance) {
  scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT }, (_request, body, done) => {
    try {
      done(null, parseForm(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}
