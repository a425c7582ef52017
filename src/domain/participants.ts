// Attendees as given by the caller, resolved against the organizer's directory (spec §7.3).
import { InvalidRequest } from './errors.js';
import type { DirectoryUser } from './directory.js';
import { ONLINE_MEETING_ROLES, type OnlineMeetingRole, type ParticipantInfo } from './meeting.js';
import type { DirectoryRepository } from './ports.js';

export interface ParticipantInput {
  upn?: string | null;
  role?: string | null;
  identity?: { user?: { id?: string | null; displayName?: string | null } | null } | null;
}

// Roles that only work for users of the tenant's directory (spec §4.3 rule 7).
const DIRECTORY_ONLY_ROLES: ReadonlySet<string> = new Set(['presenter', 'coorganizer']);

function roleOf(input: ParticipantInput): OnlineMeetingRole {
  const role = input.role ?? 'attendee';
  if (!(ONLINE_MEETING_ROLES as readonly string[]).includes(role)) {
    throw new InvalidRequest(`Invalid value '${role}' for 'role': expected one of ${ONLINE_MEETING_ROLES.join(', ')}.`);
  }
  return role as OnlineMeetingRole;
}

function fromDirectory(user: DirectoryUser, role: OnlineMeetingRole): ParticipantInfo {
  return {
    upn: user.userPrincipalName,
    role,
    identity: {
      user: { id: user.id, displayName: user.displayName, tenantId: user.tenantId, identityProvider: 'AAD' },
    },
  };
}

/**
 * Fills in whichever of id and upn is missing for users of the organizer's tenant;
 * anyone else is kept as given. Unknown users may only attend.
 */
export async function resolveAttendees(
  directory: DirectoryRepository,
  tenantId: string,
  attendees: ParticipantInput[],
): Promise<ParticipantInfo[]> {
  const resolved: ParticipantInfo[] = [];
  for (const attendee of attendees) {
    const role = roleOf(attendee);
    const id = attendee.identity?.user?.id ?? null;
    const upn = attendee.upn ?? null;
    const ref = id ?? upn;
    const known = ref ? await directory.findUser(tenantId, ref) : undefined;
    if (known) {
      resolved.push(fromDirectory(known, role));
      continue;
    }
    if (DIRECTORY_ONLY_ROLES.has(role)) {
      throw new InvalidRequest(
        `The role '${role}' is not supported for attendees who are not users in the organizer's Microsoft Entra ID tenant (${ref ?? 'no id or upn given'}).`,
      );
    }
    const displayName = attendee.identity?.user?.displayName ?? null;
    resolved.push({ upn, role, identity: { user: { id, displayName } } });
  }
  return resolved;
}
