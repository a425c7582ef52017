// The control API as commands (testing toolkit): each talks to a running server (--url) or to the
// database directly (--db).
import type { Command } from 'commander';
import { registerClockCommands } from './clock.js';
import { registerDirectoryCommands } from './directory.js';
import { registerFaultCommands } from './faults.js';
import { registerRequestCommands } from './requests.js';
import { registerResetCommand } from './reset.js';
import { registerSnapshotCommands } from './snapshot.js';

export type RunAction = (action: () => Promise<unknown>) => Promise<void>;

export function registerAdminCommands(program: Command, run: RunAction) {
  registerClockCommands(program, run);
  registerFaultCommands(program, run);
  registerRequestCommands(program, run);
  registerResetCommand(program, run);
  registerSnapshotCommands(program, run);
  registerDirectoryCommands(program, run);
}
