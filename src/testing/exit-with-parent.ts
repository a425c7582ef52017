// Preloaded (node --import) into a server the test helper starts. The helper holds the other end of
// its stdin; when the test process is gone without close() — killed, crashed, a runner that stops its
// workers hard — the pipe closes and the server stops gracefully instead of running on unnoticed.
const stop = () => process.kill(process.pid, 'SIGTERM');
process.stdin.once('end', stop).once('error', stop);
process.stdin.resume();
// Watching stdin must not, on its own, keep the server alive.
(process.stdin as { unref?: () => void }).unref?.();

export {};
