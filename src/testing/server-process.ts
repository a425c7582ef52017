// The server as a child process: `graph-meetings serve` from this package, started on a free port.
// A child rather than an in-process app, so it behaves the same under any test runner (Jest's module
// sandbox included), several never share state, and nothing of it runs in the test process after stop().
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';

const PACKAGE_ROOT = new URL('../../', import.meta.url);
const BIN = fileURLToPath(new URL('bin/graph-meetings.js', PACKAGE_ROOT));
/** Preloaded into the server: it stops when the test process that started it is gone. */
const EXIT_WITH_PARENT = pathToFileURL(fileURLToPath(new URL('dist/testing/exit-with-parent.js', PACKAGE_ROOT))).href;
const BANNER = /graph-meetings listening on (http:\/\/\S+)/;
const OUTPUT_KEPT = 16 * 1024;
const STOP_TIMEOUT_MS = 10_000;

export interface ServerProcess {
  url: string;
  pid: number;
  /** The exit status and last output, for error messages ('' while it runs). */
  describeExit(): string;
  /** SIGTERM, then SIGKILL if it has not exited in time; resolves once it has exited. */
  stop(): Promise<void>;
}

export interface StartOptions {
  cwd: string;
  env?: Record<string, string>;
  timeoutMs: number;
  /** Runs synchronously if the test process exits while the server still runs. */
  cleanupOnExit: () => void;
}

/**
 * The parent's environment without what would change the server (GRAPH_MEETINGS_* settings,
 * loaders and test-runner hooks in NODE_OPTIONS), plus `extra`.
 */
function serverEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('GRAPH_MEETINGS_') && name !== 'NODE_OPTIONS' && name !== 'NODE_TEST_CONTEXT') env[name] = value;
  }
  return { ...env, ...extra };
}

const running = new Map<ChildProcess, () => void>();
let exitHookInstalled = false;

/** A test process that ends without close() takes its servers (and their temp files) with it. */
function killOnExit(child: ChildProcess, cleanup: () => void) {
  running.set(child, cleanup);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [server, cleanupServer] of running) {
      server.kill('SIGKILL');
      // A signal is delivered asynchronously: until the server is gone it may still write into its
      // temp dir, and a removal racing with that leaves the dir behind.
      if (server.pid !== undefined) waitUntilGoneSync(server.pid, 2_000);
      try {
        cleanupServer();
      } catch {
        // best effort while exiting
      }
    }
  });
}

/** Blocks (the process is exiting: nothing else can run) until `pid` is dead or a zombie. */
function waitUntilGoneSync(pid: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (Date.now() < deadline) {
    let state: string | undefined;
    try {
      state = /^\d+ \(.*\) (\S)/s.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))?.[1];
    } catch {
      return; // gone (or no /proc: nothing better to do)
    }
    if (state === 'Z' || state === 'X') return;
    Atomics.wait(pause, 0, 0, 10);
  }
}

/** Starts `graph-meetings serve <args>` (args must listen on port 0) and resolves with its URL. */
export async function startServerProcess(args: string[], options: StartOptions): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', EXIT_WITH_PARENT, BIN, 'serve', ...args], {
    cwd: options.cwd,
    env: serverEnv(options.env),
    // stdin stays open for the server's lifetime: it is how the server notices its parent is gone.
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: string) => {
    output = (output + chunk).slice(-OUTPUT_KEPT);
  };
  // Nothing is written to stdin; a late EPIPE on it must not reach the test process as an error.
  child.stdin!.on('error', () => undefined);
  child.stdout!.setEncoding('utf8').on('data', keep);
  child.stderr!.setEncoding('utf8').on('data', keep);
  let exit: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = code !== null ? `exit code ${code}` : `signal ${signal}`;
      running.delete(child);
      resolve();
    });
  });
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', reject));
  killOnExit(child, options.cleanupOnExit);
  const describeExit = () => (exit ? `\nthe server process ended (${exit}); its last output:\n${output}` : '');

  let timer: NodeJS.Timeout | undefined;
  try {
    const url = await Promise.race([
      new Promise<string>((resolve) => {
        const check = () => {
          const match = BANNER.exec(output);
          if (match) {
            child.stdout!.off('data', check);
            resolve(match[1]!);
          }
        };
        child.stdout!.on('data', check);
      }),
      exited.then(() => Promise.reject(new Error(`graph-meetings did not start${describeExit()}`))),
      spawnFailed,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`graph-meetings did not start listening within ${options.timeoutMs} ms; its output so far:\n${output}`)),
          options.timeoutMs,
        );
      }),
    ]);
    // From here on the server alone does not keep the test process alive: forgetting close() must not
    // hang a test run (the exit hook and the stdin watch still stop the server).
    for (const handle of [child, child.stdin, child.stdout, child.stderr] as (ChildProcess | Socket)[]) handle.unref();
    return { url, pid: child.pid!, describeExit, stop: () => stop(child, exited) };
  } catch (error) {
    child.kill('SIGKILL');
    if (child.pid !== undefined) await exited;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

async function stop(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    // The timer keeps the test process alive until the server is gone.
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
  await exited;
}
