// The base URL clients reach this server at: --public-url when given, else the listening address,
// else (listening on a wildcard address) the Host the client used.
import type { FastifyInstance, FastifyRequest } from 'fastify';

export function publicUrlResolver(app: FastifyInstance, configured: string | undefined, scheme: 'http' | 'https' = 'http') {
  if (configured) {
    const fixed = configured.replace(/\/+$/, '');
    return () => fixed;
  }
  let listening: string | undefined;
  return (request: FastifyRequest): string => {
    const address = listening === undefined ? app.addresses()[0] : undefined;
    if (address && typeof address !== 'string') {
      const wildcard = address.address === '0.0.0.0' || address.address === '::';
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      listening = wildcard ? '' : `${scheme}://${host}:${address.port}`;
    }
    return listening || `${request.protocol}://${request.host}`;
  };
}
