// Replies finished during one pass of the event loop leave together, in its check phase.
//
// Written one by one as each finishes, every reply wakes a client that has gone back to waiting on
// its sockets; on a shared virtual machine that wake-up (an interrupt to the other core) cost the
// server a fifth of its time on the read path. Sent back to back, the first reply wakes the client
// and the rest find it awake: existing-key createOrGet went from 14.5k to 20.5k req/s at 64
// connections (bench/results). A reply waits at most for the rest of the pass (the other
// callbacks the loop had ready), and nothing is sent earlier than before: a reply still leaves
// only after its work (and its commit) is done.

let turn: Promise<void> | undefined;

/** Resolves in this loop pass's check phase, once every reply of the pass has been made. */
export function nextSendTurn(): Promise<void> {
  turn ??= new Promise((resolve) =>
    setImmediate(() => {
      turn = undefined;
      resolve();
    }),
  );
  return turn;
}
