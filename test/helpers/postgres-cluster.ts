// A throwaway PostgreSQL cluster for tests and CI: initdb in a temp directory, a free loopback port,
// run as an unprivileged user when we are root (initdb refuses root). Also a small CLI for .ci/run:
//   node --import tsx test/helpers/postgres-cluster.ts start <dir>   → prints the URL
//   node --import tsx test/helpers/postgres-cluster.ts stop <dir>
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export interface Cluster {
  /** postgres://postgres@127.0.0.1:<port>/graph_meetings */
  url: string;
  port: number;
  dir: string;
  /** Stops the server, keeping its data (to test losing the database). */
  pause(): void;
  /** Starts it again on the same port. */
  resume(): void;
  /** Stops the server and deletes its files. */
  destroy(): void;
}

function binDir(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const found = findBinDir();
  if (found) return found;
  // A fresh Debian machine may lack the server: install Debian's package when we may (as .ci/run does).
  if (process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v apt-get']).status === 0) {
    execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const installed = findBinDir();
    if (installed) return installed;
  }
  throw new Error("PostgreSQL binaries not found: install Debian's postgresql package or set PG_BIN");
}

function findBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb')));
    versions.sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  if (which.status === 0) return join(which.stdout.trim(), '..');
  return undefined;
}

/** initdb refuses root: run the cluster as the postgres user when there is one, else nobody. */
function runAs(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  return spawnSync('id', ['-u', 'postgres']).status === 0 ? 'postgres' : 'nobody';
}

function run(bin: string, args: string[], user: string | undefined) {
  const [cmd, fullArgs] = user ? ['runuser', ['-u', user, '--', join(bin, args[0]!), ...args.slice(1)]] : [join(bin, args[0]!), args.slice(1)];
  execFileSync(cmd, fullArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function control(dir: string, port: number) {
  const bin = binDir();
  const user = runAs();
  const data = join(dir, 'data');
  const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c full_page_writes=off -c max_connections=400`;
  return {
    start: () => run(bin, ['pg_ctl', '-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', '-o', options, 'start'], user),
    stop: () => run(bin, ['pg_ctl', '-D', data, '-m', 'fast', '-w', 'stop'], user),
  };
}

export async function startCluster(dir = mkdtempSync(join(tmpdir(), 'graph-meetings-pg-'))): Promise<Cluster> {
  mkdirSync(dir, { recursive: true });
  const user = runAs();
  if (user) {
    chmodSync(dir, 0o777);
    execFileSync('chown', ['-R', user, dir]);
  }
  const port = await freePort();
  run(binDir(), ['initdb', '-D', join(dir, 'data'), '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions'], user);
  const pgctl = control(dir, port);
  pgctl.start();
  const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
  await admin.connect();
  await admin.query('CREATE DATABASE graph_meetings');
  await admin.end();
  writeFileSync(join(dir, 'port'), String(port));
  return {
    url: `postgres://postgres@127.0.0.1:${port}/graph_meetings`,
    port,
    dir,
    pause: pgctl.stop,
    resume: pgctl.start,
    destroy() {
      try {
        pgctl.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** A new, empty database on the cluster behind `url`, so each test starts clean. */
export async function freshDatabase(url: string): Promise<string> {
  const name = `gm_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const target = new URL(url);
  target.pathname = `/${name}`;
  return target.toString();
}

let shared: Promise<{ url: string; cluster?: Cluster }> | undefined;

/**
 * The PostgreSQL the tests use: GRAPH_MEETINGS_TEST_POSTGRES_URL when set (CI starts one), else a
 * throwaway cluster started on first use and removed when the test process exits.
 */
export function testPostgres(): Promise<{ url: string; cluster?: Cluster }> {
  shared ??= (async () => {
    const url = process.env.GRAPH_MEETINGS_TEST_POSTGRES_URL;
    if (url) return { url };
    const cluster = await startCluster();
    process.once('exit', () => cluster.destroy());
    return { url: cluster.url, cluster };
  })();
  return shared;
}

// CLI for .ci/run.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [command, dir] = process.argv.slice(2);
  if (command === 'start' && dir) {
    const cluster = await startCluster(dir);
    process.stdout.write(`${cluster.url}\n`);
  } else if (command === 'stop' && dir) {
    const port = Number(readFileSync(join(dir, 'port'), 'utf8'));
    control(dir, port).stop();
    rmSync(dir, { recursive: true, force: true });
  } else {
    process.stderr.write('usage: postgres-cluster.ts start|stop <dir>\n');
    process.exit(2);
  }
}
