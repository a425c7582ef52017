// Lingering close, as nginx's `lingering_close`: after answering a request before it was fully read
// (a body over the limit, a parser error), half-close and keep reading and discarding what the
// client still sends, then close. Closing a socket that has unread input makes the kernel send a
// reset, and a client still sending its body then loses the answer it had not read yet (EPIPE /
// ECONNRESET instead of the 413).
//
// Bounds (nginx's defaults for time): give up after 5 s without input (lingering_timeout), 30 s in
// all (lingering_time), or 64 MiB discarded, whichever comes first. Discarded bytes are counted,
// never kept. Lingering sockets are destroyed when the server closes, so shutdown stays prompt.
import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';

export interface LingerBounds {
  /** Close after this long without input. */
  idleMs: number;
  /** Close after this long in all. */
  totalMs: number;
  /** Close once more than this many bytes were discarded. */
  maxBytes: number;
}

export const DEFAULT_LINGER_BOUNDS: LingerBounds = { idleMs: 5_000, totalMs: 30_000, maxBytes: 64 * 1024 * 1024 };

/** Node's http server closes a connection after a `Connection: close` answer with `socket.destroySoon()`. */
type ClosableSocket = Socket & { destroySoon(): void };

/**
 * Node's parser stops reading when the unread request body backs up, and resumes through a 'resume'
 * listener on the socket that the un-consuming just removed; the stream itself still counts a read as
 * pending, so `resume()` alone would not read again. Do what that listener did.
 */
function restartReading(socket: Socket) {
  const handle = (socket as Socket & { _handle?: { reading?: boolean; readStart?: () => number } | null })._handle;
  if (handle && handle.reading === false && typeof handle.readStart === 'function') {
    handle.reading = true;
    handle.readStart();
  }
  socket.resume();
}

export class LingeringCloser {
  private readonly lingering = new Set<Socket>();
  /** The request, per socket, that was answered before it was fully read. */
  private readonly unread = new WeakMap<Socket, IncomingMessage>();
  private closing = false;

  constructor(private readonly bounds: LingerBounds = DEFAULT_LINGER_BOUNDS) {}

  isLingering(socket: Socket): boolean {
    return this.lingering.has(socket);
  }

  get size(): number {
    return this.lingering.size;
  }

  /**
   * Call when answering `request` before its body was fully read: if Node then closes the connection
   * (a `Connection: close` answer) while the client is still sending, it lingers instead.
   */
  answeredEarly(request: IncomingMessage): void {
    const socket = request.socket as ClosableSocket | null;
    if (!socket || socket.destroyed) return;
    if (!this.unread.has(socket)) {
      // Node's own close for this socket: end, then destroy once the answer is flushed.
      socket.destroySoon = () => {
        if (this.unread.get(socket)?.complete === false) this.close(socket);
        else Socket.prototype.destroySoon.call(socket);
      };
    }
    this.unread.set(socket, request);
  }

  /** Ends the socket after what was written to it, then discards input until the client is done or a bound is hit. */
  close(socket: Socket): void {
    if (this.lingering.has(socket) || socket.destroyed) return;
    if (this.closing) {
      (Socket.prototype as ClosableSocket).destroySoon.call(socket);
      return;
    }
    this.lingering.add(socket);
    let discarded = 0;
    const finish = () => {
      clearTimeout(idle);
      clearTimeout(total);
      this.lingering.delete(socket);
      socket.destroy();
    };
    const idle = setTimeout(finish, this.bounds.idleMs);
    const total = setTimeout(finish, this.bounds.totalMs);
    socket.end();
    // Nothing more on this connection is parsed or answered: take the input away from Node's HTTP
    // parser (adding a 'data' listener to an HTTP socket makes Node stop feeding its parser directly).
    socket.removeAllListeners('data');
    socket.on('data', (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > this.bounds.maxBytes) finish();
      else idle.refresh();
    });
    socket.once('end', finish);
    socket.once('close', finish);
    socket.on('error', finish);
    restartReading(socket);
  }

  /** Destroys every lingering socket; sockets answered from now on close as Node would. */
  closeAll(): void {
    this.closing = true;
    for (const socket of this.lingering) socket.destroy();
    this.lingering.clear();
  }
}
