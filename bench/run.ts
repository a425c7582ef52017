// npm run bench: the real server (production build, default settings: JWT verification on, SQLite
// synchronous=FULL) against a bare node:http baseline (bench/baseline.ts), loaded from a separate
// process by wrk (autocannon when wrk is missing). Rounds alternate between the two and medians are
// reported, so every figure is also a ratio to the baseline measured in the same run.
//   npm run bench -- [--seconds 5] [--rounds 3] [--connections 16,64] [--only create,existing,get,mix]
//                    [--db postgres://…] [--scale 10000,100000,1000000 | --scale none]
// Results: a table on stdout and bench/results/<date>.{md,json}.
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../test/helpers/postgres-cluster.js';
import { bulkLoadSqlite } from './bulk-load.js';
import { runAutocannon, type LoadResult, runWrk, type Scenario } from './loaders.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: process.env.BENCH_SECONDS ?? '5' },
    rounds: { type: 'string', default: process.env.BENCH_ROUNDS ?? '3' },
    connections: { type: 'string', default: '16,64' },
    only: { type: 'string', default: 'create,existing,get,mix' },
    db: { type: 'string', default: process.env.BENCH_DB },
    scale: { type: 'string', default: '10000,100000,1000000' },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const WARM_UP_SECONDS = 2;
const CONNECTIONS = values.connections.split(',').map(Number);
const SCENARIOS = values.only.split(',') as Scenario[];
const SCALE = values.scale === 'none' ? [] : values.scale.split(',').map(Number);
const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin', 'graph-meetings.js');
const loader = spawnSync('sh', ['-c', 'command -v wrk']).status === 0 ? 'wrk' : 'autocannon';

interface Row {
  setup: string;
  scenario: string;
  connections: number;
  reqPerSec: number;
  baselineReqPerSec: number;
  /** The median of the rounds' ratios: each round pairs a server run with the baseline run next to it. */
  ratio: number;
  /** The lowest and highest of the rounds' ratios: how much the host moved during the rounds. */
  ratioLow: number;
  ratioHigh: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerRequest: number;
  rssMb: number;
  non2xx: number;
}
const rows: Row[] = [];

async function waitForLine(child: ChildProcess, pattern: RegExp): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer) => {
      out += chunk;
      if (pattern.test(out)) {
        child.stdout!.off('data', onData);
        child.stdout!.resume(); // keep draining: a full pipe would block the server's logging
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`process exited with ${code}: ${out}`)));
  });
}

async function stopProcess(child: ChildProcess) {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
}

/** This process and its children (cluster workers): CPU seconds and resident memory. */
function processTree(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return [pid, ...children.flatMap(processTree)];
}
function cpuSeconds(pid: number): number {
  const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
  return processTree(pid).reduce((sum, p) => {
    const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return sum + (Number(fields[11]) + Number(fields[12])) / ticks;
  }, 0);
}
function rssMb(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) / 1024, 0);
}

interface Target {
  url: string;
  pid: number;
  token: string;
  getPath: string;
}

async function startBaseline(): Promise<{ child: ChildProcess; target: Target }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench', 'baseline.ts'), String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await waitForLine(child, /listening/);
  return { child, target: { url: `http://127.0.0.1:${port}`, pid: child.pid!, token: 'baseline', getPath: '/v1.0/me/onlineMeetings/baseline' } };
}

async function startServer(db: string, workers: number): Promise<{ child: ChildProcess; target: Target }> {
  const port = await freePort();
  // Default settings on purpose (log level info included): what a user gets from `serve`.
  const child = spawn(process.execPath, [bin, 'serve', '--port', String(port), '--db', db, '--workers', String(workers)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await waitForLine(child, /listening on/);
  const url = `http://127.0.0.1:${port}`;
  const token = execFileSync(process.execPath, [bin, 'token', '--user', 'bench@contoso.example', '--db', db, '--lifetime', '86400'], { encoding: 'utf8' }).trim();
  const res = await fetch(`${url}/v1.0/me/onlineMeetings/createOrGet`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ externalId: 'bench-existing' }),
  });
  const { id } = (await res.json()) as { id: string };
  return { child, target: { url, pid: child.pid!, token, getPath: `/v1.0/me/onlineMeetings/${encodeURIComponent(id)}` } };
}

async function load(target: Target, scenario: Scenario, connections: number, seconds = SECONDS): Promise<LoadResult & { cpuSeconds: number; rssMb: number }> {
  const cpuBefore = cpuSeconds(target.pid);
  const run = loader === 'wrk' ? runWrk : runAutocannon;
  const result = await run({ ...target, scenario, connections, seconds, wrkDir: join(root, 'bench', 'wrk') });
  return { ...result, cpuSeconds: cpuSeconds(target.pid) - cpuBefore, rssMb: rssMb(target.pid) };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * Rounds alternate between baseline and server (in alternating order); medians of each. A round's
 * two runs follow each other, so their ratio is the least disturbed by a host that drifts.
 */
async function measure(setup: string, server: Target, baseline: Target, scenario: Scenario, connections: number) {
  const ours: Awaited<ReturnType<typeof load>>[] = [];
  const bare: number[] = [];
  // Unmeasured warm-up of both: JIT compilation and first reads of the file are not steady state.
  await load(server, scenario, connections, WARM_UP_SECONDS);
  await load(baseline, scenario, connections, WARM_UP_SECONDS);
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? (['baseline', 'server'] as const) : (['server', 'baseline'] as const);
    for (const which of order) {
      if (which === 'baseline') bare.push((await load(baseline, scenario, connections)).reqPerSec);
      else ours.push(await load(server, scenario, connections));
    }
  }
  const ratios = ours.map((r, round) => r.reqPerSec / bare[round]!);
  const row: Row = {
    setup,
    scenario,
    connections,
    reqPerSec: median(ours.map((r) => r.reqPerSec)),
    baselineReqPerSec: median(bare),
    ratio: median(ratios),
    ratioLow: Math.min(...ratios),
    ratioHigh: Math.max(...ratios),
    p50Ms: median(ours.map((r) => r.p50Ms)),
    p99Ms: median(ours.map((r) => r.p99Ms)),
    cpuUsPerRequest: median(ours.map((r) => (r.cpuSeconds * 1e6) / Math.max(1, r.requests))),
    rssMb: Math.max(...ours.map((r) => r.rssMb)),
    non2xx: ours.reduce((sum, r) => sum + r.non2xx + r.errors, 0),
  };
  rows.push(row);
  console.log(
    `  ${setup} · ${scenario} · ${connections} conns: ${row.reqPerSec.toFixed(0)} req/s vs ${row.baselineReqPerSec.toFixed(0)} bare = ${ratioText(row)}, ` +
      `p99 ${row.p99Ms.toFixed(1)} ms, ${row.cpuUsPerRequest.toFixed(0)} µs CPU/request, RSS ${row.rssMb.toFixed(0)} MB${row.non2xx ? `, ${row.non2xx} failed` : ''}`,
  );
}

const ratioText = (row: Row) => `${row.ratio.toFixed(2)}× (${row.ratioLow.toFixed(2)}–${row.ratioHigh.toFixed(2)})`;

const SCENARIO_NAMES: Record<Scenario, string> = {
  create: 'createOrGet, new externalId (durable create)',
  existing: 'createOrGet, existing key',
  get: 'GET by id',
  mix: '90/10 GET/create mix',
};

const started = new Date();
const dir = mkdtempSync(join(tmpdir(), 'graph-meetings-bench-'));
const { child: baselineProcess, target: baseline } = await startBaseline();
console.log(`graph-meetings bench: ${loader} from a separate process, ${SECONDS} s × ${ROUNDS} rounds per figure, node ${process.version}, ${cpus().length} cores`);
try {
  const setups: { name: string; db: string; workers: number; connections: number[] }[] = [
    { name: 'sqlite', db: `sqlite:${join(dir, 'bench.db')}`, workers: 1, connections: CONNECTIONS },
    // Two processes taking turns at one file's write lock (--workers 2); the most connections only.
    { name: 'sqlite, 2 processes', db: `sqlite:${join(dir, 'bench-2.db')}`, workers: 2, connections: CONNECTIONS.slice(-1) },
  ];
  if (values.db) {
    setups.push(
      { name: 'postgres, 1 process', db: values.db, workers: 1, connections: CONNECTIONS },
      { name: 'postgres, 2 processes', db: values.db, workers: 2, connections: CONNECTIONS },
    );
  }
  for (const setup of setups) {
    console.log(`${setup.name}:`);
    const { child, target } = await startServer(setup.db, setup.workers);
    try {
      for (const scenario of SCENARIOS) for (const connections of setup.connections) await measure(setup.name, target, baseline, scenario, connections);
    } finally {
      await stopProcess(child);
    }
  }

  // Scale: the same file pre-filled with more and more meetings (bulk-loaded, not through HTTP).
  const scaleDb = join(dir, 'scale.db');
  let loaded = 0;
  for (const size of SCALE) {
    console.log(`sqlite with ${size.toLocaleString('en')} stored meetings: loading…`);
    const t0 = Date.now();
    await bulkLoadSqlite(scaleDb, loaded, size);
    loaded = size;
    console.log(`  loaded in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    const { child, target } = await startServer(`sqlite:${scaleDb}`, 1);
    try {
      for (const scenario of ['existing', 'get', 'create'] as Scenario[]) await measure(`sqlite, ${size.toLocaleString('en')} meetings`, target, baseline, scenario, 64);
    } finally {
      await stopProcess(child);
    }
  }
} finally {
  await stopProcess(baselineProcess);
  rmSync(dir, { recursive: true, force: true });
}

// The report.
const header = '| setup | scenario | conns | req/s | bare node:http | ratio (range) | p50 ms | p99 ms | CPU µs/req | RSS MB |';
const lines = [
  `graph-meetings bench, ${started.toISOString()}: ${loader}, ${SECONDS} s × ${ROUNDS} rounds (medians; a ratio is the median of the rounds' paired server/baseline runs, their range in brackets), node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? ''})`,
  '',
  header,
  '|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.setup} | ${SCENARIO_NAMES[r.scenario as Scenario]} | ${r.connections} | ${r.reqPerSec.toFixed(0)} | ${r.baselineReqPerSec.toFixed(0)} | ${ratioText(r)} | ${r.p50Ms.toFixed(1)} | ${r.p99Ms.toFixed(1)} | ${r.cpuUsPerRequest.toFixed(0)} | ${r.rssMb.toFixed(0)} |`,
  ),
];
const sized = rows.filter((r) => r.setup.includes('meetings'));
for (const scenario of ['existing', 'get', 'create']) {
  const series = sized.filter((r) => r.scenario === scenario);
  if (series.length > 1) {
    // Also as ratios to the baseline, which the host's drift between the two sets moves less.
    const [first, last] = [series[0]!, series.at(-1)!];
    lines.push(
      '',
      `${SCENARIO_NAMES[scenario as Scenario]}: ${last.setup} vs ${first.setup}: ${(last.reqPerSec / first.reqPerSec).toFixed(2)}× in req/s, ` +
        `${(last.ratio / first.ratio).toFixed(2)}× as ratios to the baseline`,
    );
  }
}
const failed = rows.reduce((sum, r) => sum + r.non2xx, 0);
if (failed) lines.push('', `${failed} requests failed or were not 2xx during the measured runs.`);
console.log(`\n${lines.join('\n')}`);
const resultsDir = join(root, 'bench', 'results');
mkdirSync(resultsDir, { recursive: true });
const stamp = started.toISOString().slice(0, 16).replace(':', '');
writeFileSync(join(resultsDir, `${stamp}.md`), `${lines.join('\n')}\n`);
writeFileSync(join(resultsDir, `${stamp}.json`), `${JSON.stringify({ started, loader, seconds: SECONDS, rounds: ROUNDS, node: process.version, rows }, null, 2)}\n`);
console.log(`\nwritten to bench/results/${stamp}.{md,json}`);
