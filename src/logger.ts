// The server's logger: pino, as Fastify uses it, writing to stdout.
//
// The lines logged during one pass of the event loop are written together, synchronously, when the
// pass ends, in writes of up to 4 KB: a busy pass that answers 64 requests costs ~4 system calls,
// not 64, and at rest each line still appears at once. Written asynchronously instead (sonic-boom's
// threadpool writes, one in flight at a time), the log fell behind its requests under load and
// dropped half the access log at its memory bound; a write still in flight at exit was cut
// mid-line. Synchronous, nothing is dropped or cut: a stdout that drains slowly slows the server
// rather than losing lines (pino's own default). A write to a file or a drained pipe is a copy
// into the kernel.
import { type FastifyBaseLogger, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import onExit from 'on-exit-leak-free';
import { pino } from 'pino';

type Destination = ReturnType<typeof pino.destination>;

// The size up to which POSIX makes a write to a pipe atomic (Linux: 4096).
const PIPE_BUF = 4096;

/** pino's destination stream: one loop pass's lines, handed to stdout's writer together. */
class PassBatchedStdout {
  private lines: string[] = [];
  private scheduled = false;

  constructor(private readonly out: Destination) {
    // process.exit() runs no more passes: what the last one logged is written on the way out.
    onExit.register(this, (self) => self.flushSync());
  }

  write(line: string): boolean {
    this.lines.push(line);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.writePass());
    }
    return true;
  }

  private writePass() {
    this.scheduled = false;
    const lines = this.lines;
    this.lines = [];
    // Whole lines, at most PIPE_BUF bytes a write: a pipe takes such a write in one piece, so the
    // lines of --workers processes sharing one stdout never interleave mid-line.
    let chunk = '';
    let bytes = 0;
    for (const line of lines) {
      const size = Buffer.byteLength(line);
      if (bytes > 0 && bytes + size > PIPE_BUF) {
        this.out.write(chunk);
        chunk = '';
        bytes = 0;
      }
      chunk += line;
      bytes += size;
    }
    if (bytes > 0) this.out.write(chunk);
  }

  /** pino calls this to flush (and so does the exit hook above). */
  flushSync() {
    this.writePass();
  }
}

export function createLogger(level: string): FastifyBaseLogger {
  return pino(
    {
      level,
      // Tokens never reach the logs: request headers are not logged, and this guards any that are.
      redact: { paths: ['req.headers.authorization', 'headers.authorization'], censor: '[redacted]' },
    },
    new PassBatchedStdout(pino.destination({ dest: 1, sync: true })),
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
