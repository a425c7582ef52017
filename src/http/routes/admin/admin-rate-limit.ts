// Per-client (IP) limits on the control API, in this process: a generous budget for every call,
// and a small one for refused credentials, so guessing the admin key is slow while a client with
// the right key is never locked out by someone else's failures.
import { graphErrors } from '../../graph-errors.js';
import type { GraphError } from '../../graph-errors.js';

interface Bucket {
  tokens: number;
  at: number;
}

class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly capacity: number,
    private readonly perSecond: number,
    private readonly now: () => number,
  ) {}

  /** Takes one token; the seconds to wait when there is none. */
  take(client: string): number | undefined {
    const now = this.now();
    let bucket = this.buckets.get(client);
    if (!bucket) {
      if (this.buckets.size >= 10_000) this.buckets.clear();
      bucket = { tokens: this.capacity, at: now };
      this.buckets.set(client, bucket);
    }
    bucket.tokens = Math.min(this.capacity, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    return (1 - bucket.tokens) / this.perSecond;
  }
}

export class AdminRateLimit {
  private readonly calls: TokenBuckets;
  private readonly failures: TokenBuckets;

  constructor(options: { callsPerSecond?: number; burst?: number; failuresPerMinute?: number; now?: () => number } = {}) {
    const now = options.now ?? Date.now;
    this.calls = new TokenBuckets(options.burst ?? 500, options.callsPerSecond ?? 200, now);
    const failures = options.failuresPerMinute ?? 20;
    this.failures = new TokenBuckets(failures, failures / 60, now);
  }

  /** Every call: a Graph-shaped 429 when the client is over its budget. */
  admit(client: string) {
    const wait = this.calls.take(client);
    if (wait !== undefined) throw graphErrors.tooManyRequests(wait);
  }

  /** A refused credential: the refusal, or a 429 once the client has failed too often. */
  refuse(client: string, refusal: GraphError): GraphError {
    const wait = this.failures.take(client);
    return wait === undefined ? refusal : graphErrors.tooManyRequests(wait);
  }
}
