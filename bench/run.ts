// npm run bench: load the real server (a separate process, dev auth, a fresh SQLite file) with autocannon
// and report throughput and latency per scenario. Numbers are for comparison between commits on one
// machine, not absolute targets.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import autocannon from 'autocannon';

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const bin = join(import.meta.dirname, '..', 'bin', 'graph-meetings.js');

const dir = mkdtempSync(join(tmpdir(), 'graph-meetings-bench-'));
const db = `sqlite:${join(dir, 'bench.db')}`;
const server = spawn(process.execPath, [bin, 'serve', '--port', '0', '--db', db, '--log-level', 'warn'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});

function stop() {
  server.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}

const url = await new Promise<string>((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (chunk: Buffer) => {
    out += chunk;
    const match = /listening on (http:\/\/\S+)/.exec(out);
    if (match) resolve(match[1]!);
  });
  server.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
});

const token = execFileSync(process.execPath, [bin, 'token', '--user', 'bench@contoso.example', '--db', db], {
  encoding: 'utf8',
}).trim();
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
const createOrGet = `${url}/v1.0/me/onlineMeetings/createOrGet`;

const seeded = await fetch(createOrGet, { method: 'POST', headers, body: JSON.stringify({ externalId: 'bench-existing' }) });
const { id } = (await seeded.json()) as { id: string };

let counter = 0;
const scenarios: Array<{ name: string; options: autocannon.Options }> = [
  {
    name: 'createOrGet, existing key (200)',
    options: { url: createOrGet, method: 'POST', headers, body: JSON.stringify({ externalId: 'bench-existing' }) },
  },
  {
    name: 'createOrGet, new key each request (201)',
    options: {
      url: createOrGet,
      method: 'POST',
      headers,
      requests: [{ setupRequest: (req) => ({ ...req, body: JSON.stringify({ externalId: `bench-${process.pid}-${counter++}` }) }) }],
    },
  },
  { name: 'GET meeting by id (200)', options: { url: `${url}/v1.0/me/onlineMeetings/${encodeURIComponent(id)}`, headers } },
];

try {
  console.log(`graph-meetings bench: ${DURATION}s per scenario, ${CONNECTIONS} connections, node ${process.version}`);
  for (const { name, options } of scenarios) {
    const result = await autocannon({ ...options, connections: CONNECTIONS, duration: DURATION });
    const errors = result.errors + result.non2xx;
    console.log(
      `${name.padEnd(42)} ${result.requests.average.toFixed(0).padStart(7)} req/s  ` +
        `p50 ${result.latency.p50} ms  p99 ${result.latency.p99} ms  errors ${errors}`,
    );
  }
} finally {
  stop();
}
