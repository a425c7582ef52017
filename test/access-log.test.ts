// The access log through the real CLI: under a burst it keeps one line per request, none dropped;
// what is still pending when the server stops is written before it exits; a stdout that stops
// draining holds the server up rather than losing lines; the processes of --workers sharing one
// stdout pipe never cut into each other's lines.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { killAllChildren, startCliServer } from './helpers/cli.js';
import { tempDir } from './helpers/server.js';

const dir = tempDir();
after(async () => {
  await killAllChildren();
  rmSync(dir, { recursive: true, force: true });
});

/** The lines of `stdout` that carry `marker`, each parsed (a line cut or interleaved fails to parse). */
function markedLines(stdout: string, marker: string) {
  return stdout
    .split('\n')
    .filter((line) => line.includes(marker))
    .map((line) => JSON.parse(line) as { msg: string; statusCode: number; url: string });
}

/** Writes `count` pipelined GETs of `path` on one connection and resolves when every answer has come back. */
function pipelined(url: string, path: string, count: number): Promise<number[]> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    const statuses: number[] = [];
    socket.setEncoding('latin1');
    socket.on('connect', () => socket.end(`GET ${path} HTTP/1.1\r\nhost: ${hostname}\r\n\r\n`.repeat(count)));
    socket.on('data', (chunk: string) => {
      received += chunk;
      // Count status lines as they arrive; keep, past the last one counted, only a tail short
      // enough to be the start of one split between chunks.
      let counted = 0;
      for (const match of received.matchAll(/HTTP\/1\.1 (\d{3}) /g)) {
        statuses.push(Number(match[1]));
        counted = match.index + match[0].length;
      }
      received = received.slice(Math.max(counted, received.length - 12));
      if (statuses.length >= count) socket.destroy();
    });
    socket.on('close', () => (statuses.length >= count ? resolve(statuses) : reject(new Error(`${statuses.length} of ${count} answers`))));
    socket.on('error', reject);
  });
}

test('a burst of requests with long URLs: one access-log line each, none dropped', { timeout: 120_000 }, async () => {
  const server = await startCliServer(['--port', '0', '--db', `sqlite:${join(dir, 'meetings.db')}`, '--log-level', 'info'], {
    stdoutFile: join(dir, 'stdout.log'),
  });
  // ~8 KB per line: 2,048 of them are twice what the log may hold pending, so a log that writes
  // more slowly than its requests come has to drop lines.
  const marker = `burst-${Date.now()}`;
  const path = `/v1.0/me/onlineMeetings?${marker}=${'x'.repeat(8000)}`;
  const connections = 64;
  const perConnection = 32;
  const statuses = (await Promise.all(Array.from({ length: connections }, () => pipelined(server.url, path, perConnection)))).flat();
  assert.equal(statuses.length, connections * perConnection);
  assert.ok(statuses.every((status) => status === 401), 'every request is answered (401: no token)');

  const exit = await server.stop('SIGTERM', 30_000);
  assert.equal(exit.code, 0);
  const lines = markedLines(server.stdout(), marker);
  assert.equal(lines.length, connections * perConnection, 'one line per request');
  assert.ok(lines.every((line) => line.msg === 'request completed' && line.statusCode === 401 && line.url === path));
});

test('two --workers, one stdout pipe that stops draining for a while: every line whole, none lost', { timeout: 120_000 }, async () => {
  const server = await startCliServer(['--port', '0', '--workers', '2', '--db', `sqlite:${join(dir, 'workers.db')}`, '--log-level', 'info']);
  // Nobody reads the pipe for a second: it fills, and both workers' writes wait for room.
  server.child.stdout!.pause();
  setTimeout(() => server.child.stdout!.resume(), 1_000);
  const marker = `stalled-${Date.now()}`;
  const path = `/v1.0/me/onlineMeetings?${marker}=${'y'.repeat(2000)}`;
  const statuses = (await Promise.all(Array.from({ length: 32 }, () => pipelined(server.url, path, 32)))).flat();
  assert.equal(statuses.length, 32 * 32);
  assert.ok(statuses.every((status) => status === 401));

  const exit = await server.stop('SIGTERM', 30_000);
  assert.equal(exit.code, 0);
  const lines = markedLines(server.stdout(), marker);
  assert.equal(lines.length, 32 * 32, 'one line per request');
  assert.ok(lines.every((line) => line.msg === 'request completed' && line.url === path));
});
