// Runs the real command line (bin/graph-meetings.js) as child processes: servers and one-shot commands.
// Every child is tracked so a test's after() can kill whatever is still running (killAllChildren).
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = fileURLToPath(new URL('../../bin/graph-meetings.js', import.meta.url));

const BANNER = /^graph-meetings listening on (https?:\/\/\S+)/m;
const running = new Set<ChildProcess>();

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface CliOptions {
  /** Extra environment variables (GRAPH_MEETINGS_* of the parent environment are never inherited). */
  env?: Record<string, string>;
  timeoutMs?: number;
  /** How startCliServer asks /healthz (default fetch); HTTPS servers with a private CA pass their own. */
  healthz?: (url: string) => Promise<number>;
  /** Stdout written straight to this file (as an operator redirecting it would), not to a pipe. */
  stdoutFile?: string;
}

function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('GRAPH_MEETINGS_') && name !== 'NODE_TEST_CONTEXT' && name !== 'NODE_OPTIONS') env[name] = value;
  }
  return { ...env, ...extra };
}

interface Spawned {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<Exit>;
}

function spawnCli(args: string[], options: CliOptions): Spawned {
  const file = options.stdoutFile === undefined ? undefined : openSync(options.stdoutFile, 'w');
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: childEnv(options.env), stdio: ['ignore', file ?? 'pipe', 'pipe'] });
  if (file !== undefined) closeSync(file);
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<Exit>((resolve, reject) => {
    child.once('error', reject);
    // 'close' (not 'exit'): all output has been read by then.
    child.once('close', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  const stdoutOf = options.stdoutFile === undefined ? () => stdout : () => readFileSync(options.stdoutFile!, 'utf8');
  return { child, stdout: stdoutOf, stderr: () => stderr, exited };
}

/** Races a promise against a deadline; the message says what was being waited for. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export interface CliResult extends Exit {
  stdout: string;
  stderr: string;
}

/** Runs a command to completion (killed after timeoutMs) and returns its exit status and output. */
export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const run = spawnCli(args, options);
  try {
    const exit = await within(run.exited, options.timeoutMs ?? 20_000, `graph-meetings ${args.join(' ')} to exit`);
    return { ...exit, stdout: run.stdout(), stderr: run.stderr() };
  } finally {
    if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill('SIGKILL');
  }
}

export interface RequestOptions {
  method?: string;
  token?: string;
  json?: unknown;
  headers?: Record<string, string>;
}

/** fetch with a bearer token and a JSON body. */
export function request(baseUrl: string, path: string, options: RequestOptions = {}): Promise<Response> {
  const headers = new Headers(options.headers);
  if (options.token !== undefined) headers.set('authorization', `Bearer ${options.token}`);
  let body: string | undefined;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers.set('content-type', 'application/json');
  }
  return fetch(`${baseUrl}${path}`, { method: options.method ?? (body ? 'POST' : 'GET'), headers, body });
}

export interface CliServer {
  url: string;
  pid: number;
  child: ChildProcess;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  exited: Promise<Exit>;
  request(path: string, options?: RequestOptions): Promise<Response>;
  /** Sends the signal and waits for the exit; SIGKILLs and throws when it does not come in time. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit>;
}

const fetchStatus = async (url: string) => (await fetch(url, { signal: AbortSignal.timeout(2_000) })).status;

async function waitHealthy(url: string, exited: Promise<Exit>, deadline: number, healthz = fetchStatus): Promise<void> {
  let gone = false;
  const markGone = () => (gone = true);
  exited.then(markGone, markGone);
  for (;;) {
    if (gone) throw new Error('server exited before /healthz answered');
    try {
      if ((await healthz(`${url}/healthz`)) === 200) return;
    } catch {
      // not answering yet
    }
    if (Date.now() > deadline) throw new Error(`${url}/healthz did not answer 200 in time`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Starts `graph-meetings serve <args>` and resolves once it has printed its listening URL and
 * /healthz answers 200. Pass --port 0 in args.
 */
export async function startCliServer(args: string[], options: CliOptions = {}): Promise<CliServer> {
  const run = spawnCli(['serve', ...args], options);
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  const describe = () => `graph-meetings serve ${args.join(' ')}\nstdout: ${run.stdout()}\nstderr: ${run.stderr()}`;
  try {
    const url = await within(
      new Promise<string>((resolve, reject) => {
        const check = () => {
          const match = BANNER.exec(run.stdout());
          if (match) {
            run.child.stdout?.off('data', check);
            clearInterval(polling);
            resolve(match[1]!);
          }
        };
        run.child.stdout?.on('data', check);
        // A file has no events to wait on: look again every 50 ms.
        const polling = run.child.stdout ? undefined : setInterval(check, 50);
        run.exited.finally(() => clearInterval(polling)).catch(() => undefined);
        check();
        run.exited.then((exit) => reject(new Error(`server exited (${exit.code ?? exit.signal}) before listening`)), reject);
      }),
      deadline - Date.now(),
      'the listening URL',
    );
    await waitHealthy(url, run.exited, deadline, options.healthz);
    return {
      url,
      pid: run.child.pid!,
      child: run.child,
      stdout: run.stdout,
      stderr: run.stderr,
      exited: run.exited,
      request: (path, requestOptions) => request(url, path, requestOptions),
      async stop(signal = 'SIGTERM', timeoutMs = 10_000) {
        if (run.child.exitCode === null && run.child.signalCode === null) run.child.kill(signal);
        try {
          return await within(run.exited, timeoutMs, `server ${run.child.pid} to exit after ${signal}`);
        } catch (error) {
          run.child.kill('SIGKILL');
          throw error;
        }
      },
    };
  } catch (error) {
    run.child.kill('SIGKILL');
    await run.exited.catch(() => undefined);
    throw new Error(`${(error as Error).message}\n${describe()}`);
  }
}

/** For after(): kills every child process still running and waits for them to go. */
export async function killAllChildren(): Promise<void> {
  const children = [...running];
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('close', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
}
