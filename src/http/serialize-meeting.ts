// A stored meeting → the JSON body of one API version. v1.0 is the stored shape; beta adds the
// property names older clients still read (spec §1.1, §6); evolvable enums follow §7.11.
import type { Meeting, MeetingProperties, ParticipantInfo } from '../domain/meeting.js';
import { storedJsonOf } from '../domain/meeting-json.js';
import type { ApiVersion } from './odata.js';

// Members declared after unknownFutureValue, per version, sent only to callers who opt in.
const LATE_ROLES: Record<ApiVersion, ReadonlySet<string>> = {
  'v1.0': new Set(['producer', 'coorganizer']),
  beta: new Set(['coorganizer']),
};
const LATE_LOBBY_SCOPES: ReadonlySet<string> = new Set(['invited', 'organizationExcludingGuests']);

// Seed-era accessLevel equivalents of lobbyBypassSettings.scope.
const ACCESS_LEVEL: Record<string, string> = {
  organizer: 'locked',
  organization: 'sameEnterprise',
  organizationAndFederated: 'sameEnterpriseAndFederated',
  everyone: 'everyone',
  invited: 'invited',
  organizationExcludingGuests: 'sameEnterprise',
};
const AUTO_ADMITTED_USERS: Record<string, string> = {
  organizer: 'organizer',
  organization: 'everyoneInCompany',
  organizationAndFederated: 'everyoneInSameAndFederatedCompany',
  everyone: 'everyone',
  invited: 'invitedUsersInCompany',
  organizationExcludingGuests: 'everyoneInCompany',
};

export interface SerializeOptions {
  version: ApiVersion;
  /** @odata.context; omitted for the members of a collection. */
  context?: string;
  includeUnknownEnumMembers: boolean;
}

function participant(p: ParticipantInfo, options: SerializeOptions): ParticipantInfo {
  if (options.includeUnknownEnumMembers || !LATE_ROLES[options.version].has(p.role)) return p;
  return { ...p, role: 'unknownFutureValue' };
}

function v1Properties(stored: MeetingProperties, options: SerializeOptions): MeetingProperties {
  // Beta-only properties are stored with the rest but never shown on v1.0.
  const { anonymizeIdentityForRoles: _betaOnly, ...p } = stored;
  const scope = p.lobbyBypassSettings.scope;
  return {
    ...p,
    participants: {
      organizer: participant(p.participants.organizer, options),
      attendees: p.participants.attendees.map((a) => participant(a, options)),
    },
    lobbyBypassSettings:
      options.includeUnknownEnumMembers || !LATE_LOBBY_SCOPES.has(scope)
        ? p.lobbyBypassSettings
        : { ...p.lobbyBypassSettings, scope: 'unknownFutureValue' },
  };
}

function betaProperties(p: MeetingProperties) {
  const scope = p.lobbyBypassSettings.scope;
  return {
    joinUrl: p.joinWebUrl,
    accessLevel: ACCESS_LEVEL[scope] ?? 'sameEnterprise',
    autoAdmittedUsers: AUTO_ADMITTED_USERS[scope] ?? 'everyoneInCompany',
    capabilities: [],
    entryExitAnnouncement: p.isEntryExitAnnounced,
    expirationDateTime: p.expiryDateTime,
    isCancelled: false,
    canceledDateTime: null,
    anonymizeIdentityForRoles: p.anonymizeIdentityForRoles ?? [],
  };
}

export function serializeMeeting(meeting: Meeting, options: SerializeOptions): Record<string, unknown> {
  const context = options.context === undefined ? {} : { '@odata.context': options.context };
  const properties = v1Properties(meeting.properties, options);
  if (options.version === 'v1.0') return { ...context, ...properties };
  return {
    ...context,
    ...properties,
    ...betaProperties(meeting.properties),
    participants: { ...properties.participants, producers: [], contributors: [] },
  };
}

/** Whether the v1.0 body is the stored properties as they are: nothing to hide or to rename. */
function storedIsV1Body(p: MeetingProperties, options: SerializeOptions): boolean {
  if (options.version !== 'v1.0' || p.anonymizeIdentityForRoles !== undefined) return false;
  if (options.includeUnknownEnumMembers) return true;
  const late = LATE_ROLES['v1.0'];
  return (
    !LATE_LOBBY_SCOPES.has(p.lobbyBypassSettings.scope) &&
    !late.has(p.participants.organizer.role) &&
    !p.participants.attendees.some((a) => late.has(a.role))
  );
}

/**
 * The JSON text of `serializeMeeting(meeting, options)` with `@odata.context`. The common case —
 * v1.0, a meeting as it was stored — splices the stored text instead of copying and re-serializing
 * the whole meeting: the same bytes, since stored member order is the v1.0 order.
 */
function serializeMeetingText(meeting: Meeting, options: SerializeOptions & { context: string }): string {
  const stored = storedJsonOf(meeting.properties);
  if (stored !== undefined && stored.length > 2 && storedIsV1Body(meeting.properties, options)) {
    return `{"@odata.context":${JSON.stringify(options.context)},${stored.slice(1)}`;
  }
  return JSON.stringify(serializeMeeting(meeting, options));
}

// The encoded answer for a meeting read again and again (a client repeating createOrGet or GET):
// the stored meetings a store hands out are shared, frozen objects while unchanged (store/rows.ts),
// so their bytes are kept with them, for the last context and options asked. A changed meeting is
// a new object, so an entry never outlives what it encodes; requests that share it share one Buffer.
const encoded = new WeakMap<MeetingProperties, { key: string; bytes: Buffer }>();

/**
 * The answer's body: for a shared stored meeting, its bytes, encoded once; for any other (one just
 * created or changed), its text. Buffers live outside the V8 heap, so one a request log keeps would
 * pin native memory; a text is kept on the heap, which the garbage collector compacts.
 */
export function serializeMeetingBody(meeting: Meeting, options: SerializeOptions & { context: string }): Buffer | string {
  if (!Object.isFrozen(meeting.properties)) return serializeMeetingText(meeting, options);
  const key = `${options.version} ${options.includeUnknownEnumMembers} ${options.context}`;
  const known = encoded.get(meeting.properties);
  if (known?.key === key) return known.bytes;
  const bytes = Buffer.from(serializeMeetingText(meeting, options));
  encoded.set(meeting.properties, { key, bytes });
  return bytes;
}
