// npm run bench: load the real server (a separate process, dev auth, a fresh SQLite file) with autocannon
// and report throughput and latency per scenario. Numbers are for comparison between commits on one
// machine, not absolute targets.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import autocannon from 'autocannon';
import { buildMeeting } from '../src/domain/build-meeting.js';
import { expiryCutoff } from '../src/domain/expiry.js';
import { instantAt, HOUR_MS } from '../src/domain/instant.js';
import { openStore } from '../src/store/open-store.js';

async function seedMeetings(url: string, count: number) {
  const store = await openStore(url);
  const started = Date.now();
  const now = Date.now();
  for (let done = 0; done < count; ) {
    const chunk = Math.min(2_000, count - done);
    await Promise.all(
      Array.from({ length: chunk }, (_, i) => {
        const n = done + i;
        const organizer = { tenantId: 'c0ffee00-0b0e-4d0c-a000-000000000001', id: `seed-${n % 1000}`, userPrincipalName: null, displayName: null };
        const start = instantAt(now);
        const meeting = buildMeeting(
          { organizer, externalId: `seed-${n}`, start, end: { ms: start.ms + HOUR_MS, ticks: 0 }, subject: null, attendees: [] },
          now,
          'http://bench.invalid',
        );
        return store.insertOrGetMeeting(meeting, expiryCutoff(now));
      }),
    );
    done += chunk;
  }
  await store.close();
  console.log(`seeded ${count} meetings in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const bin = join(import.meta.dirname, '..', 'bin', 'graph-meetings.js');

const dir = mkdtempSync(join(tmpdir(), 'graph-meetings-bench-'));
// BENCH_DB=postgres://… measures the PostgreSQL adapter (use an empty database); default: a fresh SQLite file.
const db = process.env.BENCH_DB ?? `sqlite:${join(dir, 'bench.db')}`;
// BENCH_SEED=N first files N meetings of other organizers, to show lookups do not slow down with size.
const SEED = Number(process.env.BENCH_SEED ?? 0);
if (SEED > 0) await seedMeetings(db, SEED);
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
const { id, joinWebUrl } = (await seeded.json()) as { id: string; joinWebUrl: string };
const lookup = `${url}/v1.0/me/onlineMeetings?$filter=${encodeURIComponent(`JoinWebUrl eq '${joinWebUrl}'`)}`;

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
  { name: 'GET $filter JoinWebUrl lookup (200)', options: { url: lookup, headers } },
  {
    name: 'PATCH subject (200)',
    options: {
      url: `${url}/v1.0/me/onlineMeetings/${encodeURIComponent(id)}`,
      method: 'PATCH',
      headers,
      requests: [{ setupRequest: (req) => ({ ...req, body: JSON.stringify({ subject: `s${counter++}` }) }) }],
    },
  },
];

try {
  console.log(
    `graph-meetings bench: ${DURATION}s per scenario, ${CONNECTIONS} connections, node ${process.version}, ${db.split(':')[0]}`,
  );
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
