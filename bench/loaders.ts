// The two load generators the benchmark can use, behind one function each: wrk (a separate native
// process; its Lua scripts in bench/wrk/ make per-request bodies) and autocannon (npm, in this process).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import autocannon from 'autocannon';

export type Scenario = 'create' | 'existing' | 'get' | 'mix';

export interface LoadOptions {
  url: string;
  token: string;
  getPath: string;
  scenario: Scenario;
  connections: number;
  seconds: number;
  wrkDir: string;
}

export interface LoadResult {
  requests: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}

const CREATE_PATH = '/v1.0/me/onlineMeetings/createOrGet';
let runs = 0;

export async function runWrk(options: LoadOptions): Promise<LoadResult> {
  const { stdout } = await promisify(execFile)(
    'wrk',
    ['-t', '2', '-c', String(options.connections), '-d', `${options.seconds}s`, '--timeout', '10s', '-s', `${options.wrkDir}/${scriptOf(options.scenario)}.lua`, options.url],
    {
      env: {
        ...process.env,
        BENCH_TOKEN: options.token,
        BENCH_GET_PATH: options.getPath,
        BENCH_CREATE_PATH: CREATE_PATH,
        BENCH_WRK_DIR: options.wrkDir,
        BENCH_RUN_ID: `${process.pid}-${runs++}`,
      },
      maxBuffer: 16 * 1024 * 1024,
    },
  );
  const line = /WRK_RESULT (\{.*\})/.exec(stdout);
  if (!line) throw new Error(`wrk printed no result:\n${stdout}`);
  const r = JSON.parse(line[1]!) as { requests: number; durationUs: number; p50Us: number; p99Us: number; errors: number; non2xx: number };
  return { requests: r.requests, reqPerSec: r.requests / (r.durationUs / 1e6), p50Ms: r.p50Us / 1000, p99Ms: r.p99Us / 1000, errors: r.errors, non2xx: r.non2xx };
}

function scriptOf(scenario: Scenario): string {
  return { create: 'create-new', existing: 'existing', get: 'get', mix: 'mix' }[scenario];
}

export async function runAutocannon(options: LoadOptions): Promise<LoadResult> {
  const headers = { authorization: `Bearer ${options.token}`, 'content-type': 'application/json' };
  const prefix = `bench-${process.pid}-${runs++}`;
  let counter = 0;
  const create = () => ({ method: 'POST' as const, path: CREATE_PATH, body: JSON.stringify({ externalId: `${prefix}-${counter++}`, subject: 'Bench' }) });
  const next = {
    create,
    existing: () => ({ method: 'POST' as const, path: CREATE_PATH, body: '{"externalId":"bench-existing"}' }),
    get: () => ({ method: 'GET' as const, path: options.getPath }),
    mix: () => (Math.random() < 0.9 ? { method: 'GET' as const, path: options.getPath } : create()),
  }[options.scenario];
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.seconds,
    headers,
    requests: [{ setupRequest: (req) => ({ ...req, ...next() }) }],
  });
  return {
    requests: result.requests.total,
    reqPerSec: result.requests.total / options.seconds,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}
