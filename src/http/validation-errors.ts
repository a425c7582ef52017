// Fastify/Ajv schema failures → one readable sentence naming the offending property.
import type { FastifySchemaValidationError } from 'fastify/types/schema.js';

/** `/tenants/0/displayName` → `tenants[0].displayName`. */
export function propertyPath(instancePath: string): string {
  return instancePath
    .split('/')
    .filter(Boolean)
    .map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join('');
}

export function formatValidationErrors(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const e = errors[0]!;
  const params = e.params as Record<string, unknown>;
  let message: string;
  if (e.keyword === 'required') {
    const missing = String(params.missingProperty);
    const parent = propertyPath(e.instancePath);
    message = `The '${parent ? `${parent}.` : ''}${missing}' property is required.`;
  } else if (e.keyword === 'additionalProperties') {
    const parent = propertyPath(e.instancePath);
    message = `Unknown property '${parent ? `${parent}.` : ''}${String(params.additionalProperty)}'.`;
  } else if (!e.instancePath) {
    message = dataVar === 'body' ? 'The request body must be a JSON object.' : `Invalid ${dataVar}: ${e.message}.`;
  } else {
    message = `Invalid value for '${propertyPath(e.instancePath)}': ${e.message}.`;
  }
  return Object.assign(new Error(message), { validation: errors, validationContext: dataVar, statusCode: 400 });
}
