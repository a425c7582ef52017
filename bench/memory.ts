// npm run bench:memory: the server's resident memory after hostile input and sustained load.
// Starts the real server (production build, defaults, a fresh SQLite file) as a separate process,
// sends 10,000 generated bodies (the fuzzing suite's arbitraries), then 25,000 createOrGet calls from
// 64 connections (each with a new externalId), then creates and reads large meetings, and reports
// RSS (now and peak) after each phase.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import fc from 'fast-check';
import { hostileValue, mutate, mutationOf, toJsonText } from '../test/fuzz/arbitraries.js';

const GENERATED = Number(process.env.MEMORY_BODIES ?? 10_000);
const CALLS = Number(process.env.MEMORY_CALLS ?? 25_000);
const CONNECTIONS = 64;
const bin = join(import.meta.dirname, '..', 'bin', 'graph-meetings.js');
const dir = mkdtempSync(join(tmpdir(), 'graph-meetings-memory-'));
const db = `sqlite:${join(dir, 'memory.db')}`;

const server = spawn(process.execPath, [bin, 'serve', '--port', '0', '--db', db, '--log-level', 'warn', ...(process.env.BENCH_SERVE_ARGS?.split(' ').filter(Boolean) ?? [])], { stdio: ['ignore', 'pipe', 'inherit'] });
const url = await new Promise<string>((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (chunk: Buffer) => {
    out += chunk;
    const match = /listening on (http:\/\/\S+)/.exec(out);
    if (match) resolve(match[1]!);
  });
  server.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
});

function memory() {
  const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024, anonMb: kb('RssAnon') / 1024, fileMb: (kb('RssFile') + kb('RssShmem')) / 1024 };
}
const report = (phase: string) => {
  if (process.env.MEMORY_SIGNAL) server.kill("SIGUSR2");
  const { rssMb, peakMb, anonMb, fileMb } = memory();
  console.log(`${phase.padEnd(44)} RSS ${rssMb.toFixed(1)} MB (peak ${peakMb.toFixed(1)} MB; ${anonMb.toFixed(1)} MB anonymous, ${fileMb.toFixed(1)} MB file-backed)`);
  return { phase, rssMb, peakMb };
};

const token = execFileSync(process.execPath, [bin, 'token', '--user', 'memory@contoso.example', '--db', db], { encoding: 'utf8' }).trim();
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
const createOrGet = `${url}/v1.0/me/onlineMeetings/createOrGet`;
const results = [report('started')];

// Phase 1: generated bodies, 16 at a time, for createOrGet, create and $batch.
const paths = [['externalId'], ['subject'], ['startDateTime'], ['endDateTime'], ['participants'], ['participants', 'attendees'], ['participants', 'attendees', '0'], ['chatInfo']];
const bodies = fc.sample(
  fc.oneof(mutationOf(paths).map((m) => mutate({ externalId: 'x', subject: 's', participants: { attendees: [{ upn: 'a@b.example' }] } }, m)), hostileValue),
  { numRuns: GENERATED, seed: 42 },
);
const targets = [createOrGet, `${url}/v1.0/me/onlineMeetings`];
let next = 0;
await Promise.all(
  Array.from({ length: 16 }, async () => {
    while (next < bodies.length) {
      const i = next++;
      const res = await fetch(targets[i % targets.length]!, { method: 'POST', headers, body: toJsonText(bodies[i]) });
      await res.arrayBuffer();
    }
  }),
);
results.push(report(`after ${GENERATED} generated bodies`));

// Phase 2: sustained createOrGet load, a new externalId per request.
let counter = 0;
await autocannon({
  url: createOrGet,
  method: 'POST',
  connections: CONNECTIONS,
  amount: CALLS,
  headers,
  requests: [{ setupRequest: (req) => ({ ...req, body: JSON.stringify({ externalId: `memory-${counter++}`, subject: 'Memory check' }) }) }],
});
results.push(report(`after ${CALLS} createOrGet calls (${CONNECTIONS} conns)`));
// The server gives memory back once idle (src/cli/memory-reducer.ts checks every 5 s).
await new Promise((resolve) => setTimeout(resolve, 11_000));
const settled = report('11 s later, idle');
results.push(settled);

// Phase 3: large meetings (~900 KB each, near the 1 MB body limit), created, then each read twice.
// The meetings caches are bounded by stored text, not only by count: what they keep of these stays
// a few MB. (Bounded by count alone, reading 400 such meetings once each held ~1.3 GB.)
const LARGE = Number(process.env.MEMORY_LARGE ?? 300);
const subject = 'large '.repeat(150 * 1024);
const largeIds: string[] = [];
for (let i = 0; i < LARGE; i += 16) {
  const created = await Promise.all(
    Array.from({ length: Math.min(16, LARGE - i) }, async (_, j) => {
      const res = await fetch(createOrGet, { method: 'POST', headers, body: JSON.stringify({ externalId: `large-${i + j}`, subject }) });
      if (res.status !== 201) throw new Error(`a large create was answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { id: string }).id;
    }),
  );
  largeIds.push(...created);
}
const afterLargeCreates = report(`after ${LARGE} large creates (~900 KB each)`);
for (let round = 0; round < 2; round++) {
  for (const id of largeIds) {
    const res = await fetch(`${url}/v1.0/me/onlineMeetings/${encodeURIComponent(id)}`, { headers });
    if (res.status !== 200) throw new Error(`a large meeting was read with ${res.status}`);
    await res.arrayBuffer();
  }
}
const afterLargeReads = report(`after reading each of them twice`);

server.kill('SIGTERM');
await new Promise((resolve) => server.once('exit', resolve));
rmSync(dir, { recursive: true, force: true });
const underLoad = Math.max(...results.slice(0, -1).map((r) => r.rssMb));
console.log(`RSS right after the load: ${underLoad.toFixed(1)} MB; settled: ${settled.rssMb.toFixed(1)} MB (goal: under 150 MB)`);
console.log(
  `Large meetings: RSS ${afterLargeCreates.rssMb.toFixed(1)} MB after creating them, ${afterLargeReads.rssMb.toFixed(1)} MB after reading them ` +
    `(${(afterLargeReads.rssMb - afterLargeCreates.rssMb).toFixed(1)} MB for the reads)`,
);
