// OData query options on onlineMeetings (protocol §6): $select, the three lookup filters, and the
// options a single entity refuses. The `$` prefix is optional, as on beta.
import type { MeetingLookup } from '../domain/ports.js';
import { graphErrors } from './graph-errors.js';
import type { ApiVersion } from './odata.js';
import { decode } from './odata-path.js';

export type Query = Record<string, string | string[] | undefined>;

function option(query: Query, name: string): string | undefined {
  for (const [key, value] of Object.entries(query)) {
    const bare = key.startsWith('$') ? key.slice(1) : key;
    if (bare.toLowerCase() === name) return Array.isArray(value) ? value.join(',') : value;
  }
  return undefined;
}

const COLLECTION_ONLY = ['filter', 'orderby', 'count', 'skip', 'top'];

/** A single meeting is not a collection: Graph refuses collection options on it. */
export function rejectCollectionOptions(query: Query): void {
  if (COLLECTION_ONLY.some((name) => option(query, name) !== undefined)) {
    throw graphErrors.badRequest(
      'The query specified in the URI is not valid. The requested resource is not a collection. Query options $filter, $orderby, $count, $skip, and $top can be applied only on collections.',
    );
  }
}

// Declared onlineMeeting properties (v1.0 CSDL 2026, including navigation properties).
const V1_PROPERTIES = [
  'id', 'allowAttendeeToEnableCamera', 'allowAttendeeToEnableMic', 'allowBreakoutRooms',
  'allowCopyingAndSharingMeetingContent', 'allowedLobbyAdmitters', 'allowedPresenters', 'allowLiveShare',
  'allowMeetingChat', 'allowParticipantsToChangeName', 'allowPowerPointSharing', 'allowRecording',
  'allowTeamworkReactions', 'allowTranscription', 'allowWhiteboard', 'audioConferencing', 'chatInfo',
  'chatRestrictions', 'cloudVideoInteropInfo', 'expiryDateTime', 'isEndToEndEncryptionEnabled',
  'isEntryExitAnnounced', 'joinInformation', 'joinMeetingIdSettings', 'joinWebUrl', 'lobbyBypassSettings',
  'meetingOptionsWebUrl', 'meetingSpokenLanguageTag', 'meetingType', 'recordAutomatically',
  'sensitivityLabelAssignment', 'shareMeetingChatHistoryDefault', 'subject', 'videoTeleconferenceId',
  'watermarkProtection', 'attendanceReports', 'attendeeReport', 'broadcastSettings', 'creationDateTime',
  'endDateTime', 'externalId', 'isBroadcast', 'meetingTemplateId', 'participants', 'startDateTime',
  'recordings', 'transcripts',
];
const BETA_EXTRA_PROPERTIES = [
  'joinUrl', 'accessLevel', 'autoAdmittedUsers', 'capabilities', 'entryExitAnnouncement', 'expirationDateTime',
  'isCancelled', 'canceledDateTime', 'anonymizeIdentityForRoles', 'alternativeRecording', 'broadcastRecording',
  'recording', 'meetingAttendanceReport', 'registration', 'aiInsights',
];
const SELECTABLE: Record<ApiVersion, Map<string, string>> = {
  'v1.0': new Map(V1_PROPERTIES.map((p) => [p.toLowerCase(), p])),
  beta: new Map([...V1_PROPERTIES, ...BETA_EXTRA_PROPERTIES].map((p) => [p.toLowerCase(), p])),
};

/** The canonical names in $select, or undefined when absent or `*`. */
export function parseSelect(query: Query, version: ApiVersion): string[] | undefined {
  const raw = option(query, 'select');
  if (raw === undefined) return undefined;
  const names = raw.split(',').map((n) => n.trim()).filter(Boolean);
  if (names.length === 0 || names.includes('*')) return undefined;
  return [
    ...new Set(
      names.map((name) => {
        const canonical = SELECTABLE[version].get(name.toLowerCase());
        if (!canonical) {
          throw graphErrors.badRequest(
            `The query specified in the URI is not valid. Could not find a property named '${name}' on type 'microsoft.graph.onlineMeeting'.`,
          );
        }
        return canonical;
      }),
    ),
  ];
}

/** Keeps `id`, the selected properties and every annotation. */
export function applySelect(body: Record<string, unknown>, select: string[] | undefined): Record<string, unknown> {
  if (!select) return body;
  const keep = new Set(['id', ...select]);
  return Object.fromEntries(Object.entries(body).filter(([key]) => key.startsWith('@') || keep.has(key)));
}

/** The entity-set part of @odata.context with a $select, e.g. `users('…')/onlineMeetings(subject,joinWebUrl)`. */
export function selectedSet(entitySet: string, select: string[] | undefined): string {
  return select ? `${entitySet}(${select.join(',')})` : entitySet;
}

export type LookupProperty = 'joinWebUrl' | 'joinMeetingId' | 'videoTeleconferenceId';

const FILTER_PROPERTIES: Record<string, LookupProperty> = {
  joinweburl: 'joinWebUrl',
  'joinmeetingidsettings/joinmeetingid': 'joinMeetingId',
  videoteleconferenceid: 'videoTeleconferenceId',
};

const EQUALS_STRING = /^\s*([A-Za-z/]+)\s+eq\s+'((?:[^']|'')*)'\s*$/i;

/**
 * The lookups `$filter` may ask for (spec §5.3): one equality on one of `allowed`. The join URL may
 * arrive encoded once (the documented form) or twice; each reading is a candidate.
 */
export function parseLookupFilter(query: Query, allowed: readonly LookupProperty[]): MeetingLookup[] {
  const filter = option(query, 'filter');
  const match = filter === undefined ? null : EQUALS_STRING.exec(filter);
  const property = match ? FILTER_PROPERTIES[match[1]!.toLowerCase()] : undefined;
  if (!match || !property || !allowed.includes(property)) {
    throw graphErrors.invalidArgument("Filter expression expected - /onlineMeetings?$filter={ParameterName} eq '{id}'.");
  }
  const value = match[2]!.replace(/''/g, "'");
  if (property !== 'joinWebUrl') return [{ [property]: value } as MeetingLookup];
  const decoded = decode(value);
  return [value, ...(decoded !== value ? [decoded] : [])].map((joinWebUrl) => ({ joinWebUrl }));
}
