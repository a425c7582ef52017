// The server's logger: pino, as Fastify uses it, writing to stdout without blocking the event loop.
// Asynchronous writes coalesce the lines logged while a write is in flight, so under load many
// lines cost one write, and at rest each line still appears at once. pino flushes what is pending
// when the process exits.
import { type FastifyBaseLogger, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import { pino } from 'pino';

export function createLogger(level: string): FastifyBaseLogger {
  return pino(
    {
      level,
      // Tokens never reach the logs: request headers are not logged, and this guards any that are.
      redact: { paths: ['req.headers.authorization', 'headers.authorization'], censor: '[redacted]' },
    },
    // Bounded: if stdout stops draining, lines beyond 8 MB are dropped rather than held in memory.
    // Lines logged while a write is in flight are appended to a pending chunk whose byte length is
    // taken on every line, which copies the chunk: small chunks (2 KB, not 16 KB) keep that copying
    // from outweighing the line itself under load.
    pino.destination({ dest: 1, sync: false, maxLength: 8 * 1024 * 1024, maxWrite: 2048 }),
  );
}

/** One access-log line per request, when it completes (Fastify logs two: received and completed). */
export class AccessLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const line = { method: request.method, url: request.url, statusCode: reply.statusCode, responseTimeMs: Math.round(reply.elapsedTime * 10) / 10 };
    if (error) request.log.error({ ...line, err: error }, 'request errored');
    else request.log.info(line, 'request completed');
  }
}
