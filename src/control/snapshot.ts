// The snapshot document: one tenant, whole — its directory and its meetings — as
// `GET /__admin/snapshot` exports it and `POST /__admin/snapshot` imports it. It is user input on the
// way back in, so it is checked completely before anything is written: an unknown member, a wrong
// type or an inconsistency is an InvalidSnapshot naming where it is.
//
// Meetings keep their stored JSON text exactly, so they read back byte-identical after an import.
// A stored text is JSON.stringify's output, and JSON.stringify(JSON.parse(text)) gives such a text
// back unchanged; the export checks that for each meeting all the same and, should a text ever not
// survive the trip, carries it as `propertiesText` (the text itself) instead of `properties`.
//
// Secrets: version 2 adds apps, named access policies and users' passwords, secrets and passwords
// as scrypt hashes only, never the secret. Version 1 documents are still read (no apps, policies
// or passwords: importing one leaves the tenant without them, as it replaces the tenant whole).
import { Ajv, type ErrorObject } from 'ajv';
import { certificateThumbprint } from '../auth/credential-hash.js';
import { type AccessPolicy, isGuid, type NamedAccessPolicy, normalizeObjectId, nulPointer, type TenantCredentials } from '../domain/directory.js';
import { parseInstant } from '../domain/instant.js';
import { type MeetingProperties, ONLINE_MEETING_ROLES } from '../domain/meeting.js';
import { meetingIdShape } from '../domain/meeting-links.js';
import { ENUMS } from '../domain/meeting-settings.js';
import type { TenantSnapshot } from './ports.js';

export const SNAPSHOT_FORMAT = 'graph-meetings.snapshot';
export const SNAPSHOT_VERSION = 2;
const READABLE_VERSIONS = [1, 2];

export type SnapshotPolicy = { appId: string; users: string[] } | { appId: string; scope: 'global' };
export type SnapshotMeeting = { organizerId: string } & ({ properties: MeetingProperties } | { propertiesText: string });

export interface SnapshotDocument {
  format: typeof SNAPSHOT_FORMAT;
  version: number;
  /** When it was exported, on the server's clock. */
  exportedAt: string;
  tenant: { id: string; displayName: string | null };
  users: { id: string; userPrincipalName: string | null; displayName: string | null; passwordHash?: string }[];
  /** As in a --directory file: for listed users, or tenant-wide with "scope": "global". */
  applicationAccessPolicies: SnapshotPolicy[];
  /** Version 2: app registrations, client secrets as hashes. */
  apps?: TenantCredentials['apps'];
  /** Version 2: named application access policies and their grants. */
  accessPolicies?: NamedAccessPolicy[];
  meetings: SnapshotMeeting[];
}

/** What an import replaced the tenant with. */
export interface SnapshotSummary {
  tenant: { id: string; displayName: string | null };
  users: number;
  applicationAccessPolicies: number;
  meetings: number;
  /** App registrations (version 2; 0 after a version 1 import). */
  apps: number;
  /** Named application access policies (version 2; 0 after a version 1 import). */
  accessPolicies: number;
}

export class InvalidSnapshot extends Error {}

export function snapshotDocument(snapshot: TenantSnapshot, exportedAt: string): SnapshotDocument {
  return {
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    exportedAt,
    tenant: snapshot.tenant,
    users: snapshot.users.map(({ id, userPrincipalName, displayName }) => {
      const passwordHash = snapshot.credentials?.passwordHashes[id];
      return { id, userPrincipalName, displayName, ...(passwordHash ? { passwordHash } : {}) };
    }),
    applicationAccessPolicies: snapshot.applicationAccessPolicies.map((p) =>
      p.users === 'global' ? { appId: p.appId, scope: 'global' as const } : { appId: p.appId, users: p.users },
    ),
    apps: snapshot.credentials?.apps ?? [],
    accessPolicies: snapshot.credentials?.accessPolicies ?? [],
    meetings: snapshot.meetings.map(({ organizerId, properties: text }) => {
      const properties = JSON.parse(text) as MeetingProperties;
      return JSON.stringify(properties) === text ? { organizerId, properties } : { organizerId, propertiesText: text };
    }),
  };
}

export function snapshotSummary(snapshot: TenantSnapshot): SnapshotSummary {
  return {
    tenant: snapshot.tenant,
    users: snapshot.users.length,
    applicationAccessPolicies: snapshot.applicationAccessPolicies.length,
    meetings: snapshot.meetings.length,
    apps: snapshot.credentials?.apps.length ?? 0,
    accessPolicies: snapshot.credentials?.accessPolicies.length ?? 0,
  };
}

// ---------------------------------------------------------------------------------------------
// Schemas: the document, and a meeting as it is stored (domain/meeting.ts MeetingProperties).

const GUID = { type: 'string', pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' };
const string = { type: 'string' };
const nullableString = { type: ['string', 'null'] };
const boolean = { type: 'boolean' };
const strings = { type: 'array', items: string };
/** As formatInstant writes them: stored dates are compared as text, so only this form sorts right. */
const storedDateTime = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{7}Z$' };
const oneOf = (values: readonly string[]) => ({ type: 'string', enum: [...values] });

/** An object with exactly these members, all required but the `optional` ones. */
function exactly(properties: Record<string, object>, optional: string[] = []) {
  return {
    type: 'object',
    properties,
    required: Object.keys(properties).filter((name) => !optional.includes(name)),
    additionalProperties: false,
  };
}

const identity = exactly(
  { id: nullableString, displayName: nullableString, tenantId: nullableString, identityProvider: nullableString },
  ['id', 'displayName', 'tenantId', 'identityProvider'],
);
const participant = exactly({ upn: nullableString, role: oneOf(ONLINE_MEETING_ROLES), identity: exactly({ user: identity }) });

const meetingProperties = exactly(
  {
    id: string,
    creationDateTime: storedDateTime,
    startDateTime: storedDateTime,
    endDateTime: storedDateTime,
    expiryDateTime: storedDateTime,
    externalId: nullableString,
    subject: nullableString,
    joinWebUrl: string,
    videoTeleconferenceId: nullableString,
    meetingOptionsWebUrl: string,
    participants: exactly({ organizer: participant, attendees: { type: 'array', items: participant } }),
    chatInfo: exactly({ threadId: string, messageId: string, replyChainMessageId: nullableString }),
    joinMeetingIdSettings: exactly({ isPasscodeRequired: boolean, joinMeetingId: string, passcode: nullableString }),
    audioConferencing: exactly({
      conferenceId: string,
      tollNumber: string,
      tollFreeNumber: nullableString,
      tollNumbers: strings,
      tollFreeNumbers: strings,
      dialinUrl: string,
    }),
    joinInformation: exactly({ content: string, contentType: { const: 'html' } }),
    lobbyBypassSettings: exactly({ scope: oneOf(ENUMS.lobbyBypassScope), isDialInBypassEnabled: boolean }),
    isEntryExitAnnounced: boolean,
    allowedPresenters: oneOf(ENUMS.onlineMeetingPresenters),
    allowMeetingChat: oneOf(ENUMS.meetingChatMode),
    allowTeamworkReactions: boolean,
    allowAttendeeToEnableCamera: boolean,
    allowAttendeeToEnableMic: boolean,
    allowParticipantsToChangeName: boolean,
    allowBreakoutRooms: boolean,
    allowCopyingAndSharingMeetingContent: boolean,
    allowedLobbyAdmitters: oneOf(ENUMS.allowedLobbyAdmitterRoles),
    allowLiveShare: oneOf(ENUMS.meetingLiveShareOptions),
    allowPowerPointSharing: boolean,
    allowRecording: boolean,
    allowTranscription: boolean,
    allowWhiteboard: boolean,
    recordAutomatically: boolean,
    shareMeetingChatHistoryDefault: oneOf(ENUMS.meetingChatHistoryDefaultMode),
    watermarkProtection: exactly({ isEnabledForContentSharing: boolean, isEnabledForVideo: boolean }),
    chatRestrictions: exactly({ allowTextOnly: boolean }),
    isEndToEndEncryptionEnabled: boolean,
    isBroadcast: boolean,
    meetingType: string,
    meetingTemplateId: nullableString,
    meetingSpokenLanguageTag: nullableString,
    anonymizeIdentityForRoles: strings,
  },
  ['anonymizeIdentityForRoles'],
);

const credentialHash = { type: 'string', pattern: '^scrypt\\$\\d+\\$\\d+\\$\\d+\\$[\\w-]+\\$[\\w-]+$' };
const app = exactly(
  {
    appId: GUID,
    displayName: nullableString,
    roles: strings,
    redirectUris: strings,
    secretHashes: { type: 'array', items: exactly({ hash: credentialHash, hint: nullableString }, ['hint']) },
    certificates: { type: 'array', items: { type: 'string', pattern: '-----BEGIN CERTIFICATE-----' } },
  },
  ['displayName', 'roles', 'redirectUris', 'secretHashes', 'certificates'],
);
const namedPolicy = exactly(
  { name: { type: 'string', minLength: 1, maxLength: 256 }, appIds: { type: 'array', items: GUID }, users: { type: 'array', items: GUID }, global: boolean },
  ['users', 'global'],
);

const documentSchema = exactly(
  {
    format: { const: SNAPSHOT_FORMAT },
    version: { enum: READABLE_VERSIONS },
    exportedAt: string,
    tenant: exactly({ id: GUID, displayName: nullableString }, ['displayName']),
    users: {
      type: 'array',
      items: exactly(
        { id: GUID, userPrincipalName: { type: ['string', 'null'], minLength: 1 }, displayName: nullableString, passwordHash: credentialHash },
        ['userPrincipalName', 'displayName', 'passwordHash'],
      ),
    },
    apps: { type: 'array', items: app },
    accessPolicies: { type: 'array', items: namedPolicy },
    applicationAccessPolicies: {
      type: 'array',
      items: exactly({ appId: GUID, users: { type: 'array', items: GUID }, scope: { const: 'global' } }, ['users', 'scope']),
    },
    meetings: {
      type: 'array',
      items: exactly({ organizerId: GUID, properties: meetingProperties, propertiesText: string }, ['properties', 'propertiesText']),
    },
  },
  ['exportedAt', 'apps', 'accessPolicies'],
);

const ajv = new Ajv({ allErrors: false, allowUnionTypes: true });
const validateDocument = ajv.compile(documentSchema);
const validateMeeting = ajv.compile(meetingProperties);

/** `/meetings/3/properties/subject` → `meetings[3].properties.subject`. */
function memberPath(pointer: string): string {
  return pointer
    .split('/')
    .filter(Boolean)
    .map((part, i) => (/^\d+$/.test(part) ? `[${part}]` : i === 0 ? part : `.${part}`))
    .join('');
}

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  boolean: 'true or false',
  array: 'an array',
  object: 'an object',
  null: 'null',
};

function describe(error: ErrorObject, prefix = ''): string {
  const path = memberPath(error.instancePath);
  const full = prefix && path && !path.startsWith('[') ? `${prefix}.${path}` : prefix + path;
  const where = full ? `'${full}'` : 'the document';
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `${where} lacks the required member '${String(params.missingProperty)}'`;
    case 'additionalProperties':
      return `${where} has an unknown member '${String(params.additionalProperty)}'`;
    case 'enum':
      return `${where} must be one of ${(params.allowedValues as string[]).join(', ')}`;
    case 'type':
      return `${where} must be ${[params.type].flat().map((type) => TYPE_NAMES[type as string] ?? type).join(' or ')}`;
    case 'const':
      return `${where} must be ${JSON.stringify(params.allowedValue)}`;
    case 'pattern':
      if (params.pattern === storedDateTime.pattern) return `${where} must be a UTC date-time with 7 fractional digits, such as 2030-01-31T09:00:00.0000000Z`;
      if (params.pattern === credentialHash.pattern) return `${where} must be a hash as graph-meetings exports it (scrypt$…), never a plain secret`;
      return params.pattern === GUID.pattern ? `${where} must be a GUID` : `${where} must be a PEM certificate`;
    default:
      return `${where} ${error.message ?? 'is invalid'}`;
  }
}

function invalid(message: string): InvalidSnapshot {
  return new InvalidSnapshot(`Invalid snapshot: ${message}.`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks an imported document completely; its tenant as the store takes it. */
export function parseSnapshotDocument(input: unknown): TenantSnapshot {
  if (!isObject(input)) throw invalid('the document must be a JSON object');
  // Named first, so that a wrong kind of file or a newer format is not reported as a stray member.
  if (input.format !== SNAPSHOT_FORMAT) throw invalid(`'format' must be "${SNAPSHOT_FORMAT}" (is this a graph-meetings snapshot?)`);
  if (!READABLE_VERSIONS.includes(input.version as number)) {
    throw invalid(`unsupported 'version' ${JSON.stringify(input.version)}: this server reads versions ${READABLE_VERSIONS.join(' and ')}`);
  }
  if (input.version === 1 && ('apps' in input || 'accessPolicies' in input)) {
    throw invalid("'apps' and 'accessPolicies' need version 2");
  }
  if (input.version === 1 && Array.isArray(input.users)) {
    const i = input.users.findIndex((user) => isObject(user) && 'passwordHash' in user);
    if (i >= 0) throw invalid(`'users[${i}].passwordHash' needs version 2`);
  }
  if (!validateDocument(input)) throw invalid(describe(validateDocument.errors![0]!));
  const document = input as unknown as SnapshotDocument;
  // Meetings are checked below: most of a meeting is kept as JSON text, where U+0000 is escaped.
  const nul = nulPointer({ ...document, meetings: [] });
  if (nul !== undefined) throw invalid(`'${memberPath(nul)}' ${NO_NUL}`);
  const tenantId = normalizeObjectId(document.tenant.id);

  const userIds = new Set<string>();
  document.users.forEach((user, i) => {
    const id = normalizeObjectId(user.id);
    if (userIds.has(id)) throw invalid(`'users[${i}].id' ${user.id} appears twice`);
    userIds.add(id);
  });

  (document.apps ?? []).forEach((app, i) =>
    app.certificates?.forEach((pem, j) => {
      try {
        certificateThumbprint(pem);
      } catch {
        throw invalid(`'apps[${i}].certificates[${j}]' is not a valid PEM certificate`);
      }
    }),
  );

  const applicationAccessPolicies: AccessPolicy[] = document.applicationAccessPolicies.map((policy, i) => {
    const hasUsers = 'users' in policy;
    if (hasUsers === 'scope' in policy) throw invalid(`'applicationAccessPolicies[${i}]' needs exactly one of 'users' and 'scope'`);
    return hasUsers ? { appId: policy.appId, users: policy.users } : { appId: policy.appId, users: 'global' };
  });

  const meetingIds = new Set<string>();
  const keys = new Set<string>();
  const meetings = document.meetings.map((meeting, i) => {
    const at = `meetings[${i}]`;
    const properties = meetingPropertiesOf(meeting, at);
    checkMeetingColumns(properties, `${at}.${'properties' in meeting ? 'properties' : 'propertiesText'}`);
    const organizerId = normalizeObjectId(meeting.organizerId);
    checkMeeting(properties, organizerId, tenantId, at);
    if (meetingIds.has(properties.id)) throw invalid(`'${at}.properties.id' ${properties.id} appears twice`);
    meetingIds.add(properties.id);
    // The createOrGet key (organizer, externalId) belongs to one meeting at most.
    if (properties.externalId !== null) {
      const key = JSON.stringify([organizerId, properties.externalId]);
      if (keys.has(key)) throw invalid(`'${at}.properties.externalId' '${properties.externalId}' is another meeting's of the same organizer`);
      keys.add(key);
    }
    const text = 'propertiesText' in meeting ? meeting.propertiesText : JSON.stringify(meeting.properties);
    return { organizerId, properties: text };
  });

  return {
    tenant: { id: tenantId, displayName: document.tenant.displayName ?? null },
    users: document.users.map((u) => ({ id: u.id, userPrincipalName: u.userPrincipalName ?? null, displayName: u.displayName ?? null })),
    applicationAccessPolicies,
    meetings,
    credentials: {
      apps: (document.apps ?? []).map((a) => ({
        appId: normalizeObjectId(a.appId),
        displayName: a.displayName ?? null,
        roles: a.roles ?? [],
        redirectUris: a.redirectUris ?? [],
        secretHashes: (a.secretHashes ?? []).map((s) => ({ hash: s.hash, hint: s.hint ?? null })),
        certificates: a.certificates ?? [],
      })),
      accessPolicies: (document.accessPolicies ?? []).map((p) => ({
        name: p.name,
        appIds: p.appIds.map(normalizeObjectId),
        users: (p.users ?? []).map(normalizeObjectId),
        global: p.global ?? false,
      })),
      passwordHashes: Object.fromEntries(document.users.filter((u) => u.passwordHash).map((u) => [normalizeObjectId(u.id), u.passwordHash!])),
    },
  };
}

/** A meeting's properties, from `properties` or parsed from `propertiesText`, checked against the stored shape. */
function meetingPropertiesOf(meeting: SnapshotMeeting, at: string): MeetingProperties {
  const hasObject = 'properties' in meeting;
  if (hasObject === 'propertiesText' in meeting) throw invalid(`'${at}' needs exactly one of 'properties' and 'propertiesText'`);
  if (hasObject) return meeting.properties;
  let parsed: unknown;
  try {
    parsed = JSON.parse(meeting.propertiesText);
  } catch {
    throw invalid(`'${at}.propertiesText' is not JSON text`);
  }
  if (!validateMeeting(parsed)) throw invalid(describe(validateMeeting.errors![0]!, `${at}.propertiesText`));
  return parsed as unknown as MeetingProperties;
}

const NO_NUL = 'must not contain U+0000 (the NUL character)';

/** The members a meeting's row also stores in columns of their own, as text. */
function checkMeetingColumns(properties: MeetingProperties, at: string) {
  const columns = {
    externalId: properties.externalId,
    joinWebUrl: properties.joinWebUrl,
    videoTeleconferenceId: properties.videoTeleconferenceId,
    'joinMeetingIdSettings.joinMeetingId': properties.joinMeetingIdSettings.joinMeetingId,
  };
  for (const [name, value] of Object.entries(columns)) if (value?.includes('\u0000')) throw invalid(`'${at}.${name}' ${NO_NUL}`);
}

/** What the schema cannot say: a well-formed meeting id and dates, and an organizer of this tenant. */
function checkMeeting(properties: MeetingProperties, organizerId: string, tenantId: string, at: string) {
  if (meetingIdShape(properties.id) !== 'valid') throw invalid(`'${at}.properties.id' is not a meeting id of this server`);
  for (const name of ['creationDateTime', 'startDateTime', 'endDateTime', 'expiryDateTime'] as const) {
    if (!parseInstant(properties[name])) throw invalid(`'${at}.properties.${name}' is not a valid date-time`);
  }
  const organizer = properties.participants.organizer.identity.user;
  if (typeof organizer.id !== 'string' || normalizeObjectId(organizer.id) !== organizerId) {
    throw invalid(`'${at}.properties.participants.organizer.identity.user.id' must be the meeting's organizerId ${organizerId}`);
  }
  if (typeof organizer.tenantId === 'string' && normalizeObjectId(organizer.tenantId) !== tenantId) {
    throw invalid(`'${at}' has an organizer of tenant ${organizer.tenantId}, not of the snapshot's tenant ${tenantId}`);
  }
}
