// A throwaway pg_auto_failover formation for tests: a monitor and data nodes (one primary, the
// rest synchronous standbys) on free loopback ports in a temp directory, run as the postgres OS user
// when we are root (initdb refuses root). Debian's pg-auto-failover-cli and
// postgresql-15-auto-failover are installed when missing and we may (as .ci/run does).
//   const formation = await startFormation();   …   await formation.destroy();
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './postgres-cluster.js';

export interface FormationNode {
  name: string;
  port: number;
  pgdata: string;
}

export interface NodeState {
  name: string;
  port: number;
  reported: string;
  goal: string;
}

export interface Formation {
  dir: string;
  nodes: FormationNode[];
  /** What `pg_autoctl show uri --formation default` printed (no user). */
  shownUri: string;
  /** shownUri with the user added: what graph-meetings is given. */
  url: string;
  /** Each node's state as the monitor has it. */
  states(): Promise<NodeState[]>;
  /** The node the monitor has as primary, once there is exactly one and every other node is a caught-up secondary. */
  waitStable(timeoutMs?: number): Promise<FormationNode>;
  /** Polls the monitor until `test` holds for its states. */
  waitFor(what: string, test: (states: NodeState[]) => boolean, timeoutMs?: number): Promise<NodeState[]>;
  /** Starts `pg_autoctl perform failover` (planned: the primary is drained and demoted) and returns. */
  performFailover(): Promise<void>;
  /** Starts `pg_autoctl perform promotion --name <node>` (a planned failover to that node) and returns. */
  performPromotion(name: string): Promise<void>;
  /** kill -9 of the node's pg_autoctl and every Postgres process under it, all at once. */
  kill(name: string): void;
  /** Starts `pg_autoctl run` again for a killed node: it rejoins as a standby. */
  restart(name: string): void;
  /** One statement on a node, as the superuser, over TCP. */
  sql<R extends pg.QueryResultRow = any>(node: FormationNode, text: string, values?: unknown[]): Promise<R[]>;
  /** Stops everything and deletes the directory; safe to call twice. */
  destroy(): Promise<void>;
}

export const DATABASE = 'graph_meetings';

/** Monitor settings lowered for tests, so failures are noticed in seconds (defaults: 5 s, 20 s, 30 s…). */
const MONITOR_TUNING: Record<string, string> = {
  'pgautofailover.health_check_period': '1000',
  'pgautofailover.health_check_timeout': '1000',
  'pgautofailover.health_check_max_retries': '1',
  'pgautofailover.health_check_retry_delay': '500',
  'pgautofailover.node_considered_unhealthy_timeout': '2000',
  'pgautofailover.primary_demote_timeout': '3000',
  'pgautofailover.startup_grace_period': '2000',
};

// ---------------------------------------------------------------------------------------------
// Binaries and the user to run as

const PACKAGES = ['pg-auto-failover-cli', 'postgresql-15-auto-failover'];

function findBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  // The version whose server has the pgautofailover extension.
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'lib', 'pgautofailover.so')) && existsSync(join(root, v, 'bin', 'pg_ctl')));
  versions.sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

function hasAutoctl(): boolean {
  return spawnSync('sh', ['-c', 'command -v pg_autoctl'], { stdio: 'ignore' }).status === 0;
}

/** pg_ctl's directory, installing Debian's packages first when they are missing and we may. */
export function ensureInstalled(): string {
  let bin = findBinDir();
  if (bin && hasAutoctl()) return bin;
  if (process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0) {
    execFileSync('sh', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${PACKAGES.join(' ')}`], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    bin = findBinDir();
    if (bin && hasAutoctl()) return bin;
  }
  throw new Error(`pg_auto_failover not found: install Debian's ${PACKAGES.join(' and ')}`);
}

interface RunAs {
  uid?: number;
  gid?: number;
  /** The PostgreSQL superuser initdb creates: the OS user's name. */
  superuser: string;
}

function runAs(): RunAs {
  if (process.getuid?.() !== 0) return { superuser: userInfo().username };
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g'), superuser: 'postgres' };
}

// ---------------------------------------------------------------------------------------------
// Processes

/** Pids of a process and all its descendants, from /proc. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const tree: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

function signalAll(pids: number[], signal: NodeJS.Signals) {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** SIGKILL for a whole tree at once: stopped first, so no supervisor restarts anything in between. */
function killTree(root: number) {
  const pids = processTree(root);
  signalAll(pids, 'SIGSTOP');
  signalAll(pids, 'SIGKILL');
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------

export async function startFormation(options: { dataNodes?: number } = {}): Promise<Formation> {
  const dataNodes = options.dataNodes ?? 3;
  const bin = ensureInstalled();
  const user = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'graph-meetings-ha-'));
  const sock = join(dir, 'sock');
  mkdirSync(sock);
  chmodSync(dir, 0o755);
  if (user.uid !== undefined) {
    chownSync(dir, user.uid, user.gid!);
    chownSync(sock, user.uid, user.gid!);
  }
  const env: NodeJS.ProcessEnv = {
    PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`,
    HOME: dir,
    // pg_autoctl keeps its configuration, state and pid files under these: all inside dir.
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_DATA_HOME: join(dir, 'share'),
    XDG_RUNTIME_DIR: join(dir, 'run'),
    PG_CONFIG: join(bin, 'pg_config'),
    // Unix sockets in our directory, not the system's /var/run/postgresql.
    PG_REGRESS_SOCK_DIR: sock,
    PGHOST: sock,
    LANG: 'C.UTF-8',
  };
  const log = (name: string) => join(dir, `${name}.log`);
  const running = new Map<string, ChildProcess>();
  let destroyed = false;

  /** A pg_autoctl command to completion. */
  const autoctl = (args: string[], timeoutMs = 60_000): string => {
    const result = spawnSync('pg_autoctl', args, { env, cwd: dir, uid: user.uid, gid: user.gid, encoding: 'utf8', timeout: timeoutMs });
    if (result.status !== 0) {
      throw new Error(`pg_autoctl ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr.slice(-2000)}`);
    }
    return result.stdout;
  };

  /** `pg_autoctl run` in the background, its output appended to <name>.log. */
  const run = (name: string, pgdata: string) => {
    const child = spawn('sh', ['-c', `exec pg_autoctl run --pgdata "$1" >> "$2" 2>&1`, 'sh', pgdata, log(name)], {
      env,
      cwd: dir,
      uid: user.uid,
      gid: user.gid,
      stdio: 'ignore',
      detached: true,
    });
    child.unref();
    running.set(name, child);
  };

  // Last resort when the test process exits without destroy(): nothing is left running.
  const onExit = () => {
    for (const child of running.values()) if (child.pid && child.exitCode === null && child.signalCode === null) killTree(child.pid);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);

  const monitorPort = await freePort();
  const monitorData = join(dir, 'monitor');
  const monitorUri = `postgres://autoctl_node@127.0.0.1:${monitorPort}/pg_auto_failover?sslmode=disable`;
  const nodes: FormationNode[] = [];
  for (let i = 1; i <= dataNodes; i++) nodes.push({ name: `node${i}`, port: await freePort(), pgdata: join(dir, `node${i}`) });

  /** One query on a connection of its own, closed after it. */
  const query = async <R extends pg.QueryResultRow>(config: pg.ClientConfig, text: string, values: unknown[]) => {
    const client = new pg.Client({ ...config, connectionTimeoutMillis: 3_000, query_timeout: 10_000 });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query<R>(text, values)).rows;
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  const monitorSql = <R extends pg.QueryResultRow>(text: string, values: unknown[] = []) =>
    query<R>({ connectionString: monitorUri }, text, values);
  const sql = <R extends pg.QueryResultRow = any>(node: FormationNode, text: string, values: unknown[] = []) =>
    query<R>({ host: '127.0.0.1', port: node.port, user: user.superuser, database: DATABASE }, text, values);

  const states = async (): Promise<NodeState[]> =>
    (
      await monitorSql<{ nodename: string; nodeport: number; reportedstate: string; goalstate: string }>(
        'SELECT nodename, nodeport, reportedstate::text, goalstate::text FROM pgautofailover.node ORDER BY nodeid',
      )
    ).map((r) => ({ name: r.nodename, port: r.nodeport, reported: r.reportedstate, goal: r.goalstate }));

  const waitFor = async (what: string, test: (states: NodeState[]) => boolean, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    let last: NodeState[] | string = 'nothing yet';
    for (;;) {
      try {
        const current = await states();
        last = current;
        if (test(current)) return current;
      } catch (error) {
        last = String(error);
      }
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last states: ${JSON.stringify(last)}\n${tailLogs()}`);
      }
      await sleep(200);
    }
  };

  const tailLogs = () =>
    ['monitor', ...nodes.map((n) => n.name)]
      .map((name) => {
        try {
          return `--- ${name}.log\n${readFileSync(log(name), 'utf8').split('\n').slice(-15).join('\n')}`;
        } catch {
          return '';
        }
      })
      .join('\n');

  const stable = (list: NodeState[]) =>
    list.length === nodes.length &&
    list.filter((s) => s.reported === 'primary' && s.goal === 'primary').length === 1 &&
    list.every((s) => (s.reported === 'primary' && s.goal === 'primary') || (s.reported === 'secondary' && s.goal === 'secondary'));

  const waitStable = async (timeoutMs = 60_000) => {
    const list = await waitFor('one primary and caught-up secondaries', stable, timeoutMs);
    const primary = list.find((s) => s.reported === 'primary')!;
    return nodes.find((n) => n.name === primary.name)!;
  };

  const stopGracefully = async (name: string) => {
    const child = running.get(name);
    if (!child?.pid || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // pg_autoctl stops its Postgres (fast shutdown) on SIGTERM.
    signalAll([child.pid], 'SIGTERM');
    const done = await Promise.race([exited.then(() => true), sleep(15_000).then(() => false)]);
    if (!done) killTree(child.pid);
    // Anything left under the data directory (a postgres whose supervisor died) goes too.
    const pidFile = join(name === 'monitor' ? monitorData : nodes.find((n) => n.name === name)!.pgdata, 'postmaster.pid');
    try {
      const postmaster = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      if (postmaster > 0) killTree(postmaster);
    } catch {
      // stopped cleanly: no pid file
    }
  };

  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    await Promise.all(nodes.map((n) => stopGracefully(n.name)));
    await stopGracefully('monitor');
    process.removeListener('exit', onExit);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    // The monitor, listening on loopback only, with fast health checks.
    autoctl(['create', 'monitor', '--pgdata', monitorData, '--pgport', String(monitorPort), '--hostname', '127.0.0.1', '--auth', 'trust', '--no-ssl']);
    autoctl(['config', 'set', '--pgdata', monitorData, 'postgresql.listen_addresses', '127.0.0.1']);
    const tuning = Object.entries(MONITOR_TUNING).map(([name, value]) => `${name} = ${value}`).join('\n');
    appendFileSync(join(monitorData, 'postgresql.conf'), `\n# graph-meetings tests\n${tuning}\n`);
    run('monitor', monitorData);
    await waitForMonitor(monitorSql, 30_000);

    const createNode = (node: FormationNode) => {
      autoctl([
        'create', 'postgres', '--pgdata', node.pgdata, '--pgport', String(node.port), '--listen', '127.0.0.1',
        '--hostname', '127.0.0.1', '--name', node.name, '--auth', 'trust', '--no-ssl', '--monitor', monitorUri,
        '--dbname', DATABASE,
      ]);
      // Durability against an OS crash is not what is tested (processes are killed, the page cache
      // stays): skip fsync. Synchronous replication, full_page_writes (pg_rewind) stay as they are.
      appendFileSync(join(node.pgdata, 'postgresql.conf'), '\n# graph-meetings tests\nfsync = off\n');
      run(node.name, node.pgdata);
    };
    createNode(nodes[0]!);
    await waitFor('the first node to be a primary', (list) => list.some((s) => s.name === nodes[0]!.name && ['single', 'primary'].includes(s.reported)));
    for (const node of nodes.slice(1)) {
      createNode(node);
      await waitFor(`${node.name} to be a secondary`, (list) => list.some((s) => s.name === node.name && s.reported === 'secondary'));
    }
    // Acknowledged means on two nodes: every commit waits for one synchronous standby
    // (pg_auto_failover accepts 1 only with at least 2 standbys).
    if (dataNodes >= 3) {
      await monitorSql("SELECT pgautofailover.set_formation_number_sync_standbys('default', 1)");
    }
    const primary = await waitStable();
    await waitForSync(() => sql<{ s: string }>(primary, "SELECT current_setting('synchronous_standby_names') AS s"), 30_000);

    const shownUri = autoctl(['show', 'uri', '--pgdata', monitorData, '--formation', 'default']).trim();
    const url = shownUri.replace(/^postgres(ql)?:\/\//, (scheme) => `${scheme}${user.superuser}@`);
    return {
      dir,
      nodes,
      shownUri,
      url,
      states,
      waitStable,
      waitFor,
      // What `pg_autoctl perform failover|promotion` call on the monitor, without blocking until done.
      async performFailover() {
        await monitorSql("SELECT pgautofailover.perform_failover('default', 0)");
      },
      async performPromotion(name: string) {
        await monitorSql("SELECT pgautofailover.perform_promotion('default', $1)", [name]);
      },
      kill(name: string) {
        const child = running.get(name);
        if (!child?.pid) throw new Error(`${name} is not running`);
        killTree(child.pid);
      },
      restart(name: string) {
        const node = nodes.find((n) => n.name === name);
        if (!node) throw new Error(`no node ${name}`);
        run(name, node.pgdata);
      },
      sql,
      destroy,
    };
  } catch (error) {
    const logs = tailLogs();
    await destroy().catch(() => undefined);
    throw new Error(`${(error as Error).message}\n${logs}`);
  }
}

async function waitForMonitor(query: (text: string) => Promise<unknown[]>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await query('SELECT 1 FROM pgautofailover.formation');
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`the monitor did not come up: ${String(error)}`);
      await sleep(200);
    }
  }
}

async function waitForSync(read: () => Promise<{ s: string }[]>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const names = (await read().catch(() => [{ s: '' }]))[0]?.s ?? '';
    if (/^ANY 1 \(/.test(names)) return;
    if (Date.now() > deadline) throw new Error(`synchronous replication is not on (synchronous_standby_names = '${names}')`);
    await sleep(200);
  }
}
