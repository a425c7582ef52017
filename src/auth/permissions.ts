// The one permission table (spec §3.2): which scopes or roles each operation accepts.
import { InsufficientPrivileges } from './errors.js';
import type { Principal } from './principal.js';

export type Operation = 'createOrGet' | 'create' | 'read' | 'update' | 'delete' | 'readAttendance';

interface Accepted {
  delegated: readonly string[];
  application: readonly string[];
}

const READ_WRITE: Accepted = {
  delegated: ['OnlineMeetings.ReadWrite'],
  application: ['OnlineMeetings.ReadWrite.All'],
};

export const PERMISSIONS: Readonly<Record<Operation, Accepted>> = {
  createOrGet: READ_WRITE,
  create: READ_WRITE,
  update: READ_WRITE,
  delete: READ_WRITE,
  read: {
    delegated: ['OnlineMeetings.Read', 'OnlineMeetings.ReadWrite'],
    application: ['OnlineMeetings.Read.All', 'OnlineMeetings.ReadWrite.All'],
  },
  // Attendance reports and records are meeting artifacts. Applications need the artifact
  // permission, as Graph requires (docs: meetingAttendanceReport list/get, attendanceRecord list).
  // The organizer reading their own meeting's report needs no more than to read the meeting (the
  // delegated artifact scope is accepted too), so apps signed in as the organizer work unchanged.
  readAttendance: {
    delegated: ['OnlineMeetings.Read', 'OnlineMeetings.ReadWrite', 'OnlineMeetingArtifact.Read.All'],
    application: ['OnlineMeetingArtifact.Read.All'],
  },
};

export function hasPermission(principal: Principal, operation: Operation): boolean {
  const accepted = PERMISSIONS[operation];
  const granted = principal.kind === 'delegated' ? principal.scopes : principal.roles;
  const needed = principal.kind === 'delegated' ? accepted.delegated : accepted.application;
  return needed.some((p) => granted.has(p.toLowerCase()));
}

export function requirePermission(principal: Principal, operation: Operation): void {
  if (!hasPermission(principal, operation)) throw new InsufficientPrivileges();
}
