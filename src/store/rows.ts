// Row mapping shared by the SQL adapters: which meeting fields get their own indexed columns.
import type { DirectoryUser } from '../domain/directory.js';
import type { Meeting, MeetingProperties } from '../domain/meeting.js';
import { normalizeObjectId } from '../domain/directory.js';
import { rememberJson, storedJsonOf } from '../domain/meeting-json.js';
import { WeighedCache } from './weighed-cache.js';

export interface MeetingRow {
  /** Selected by the store's reads (MEETING_ROW_COLUMNS); absent for a row made from a snapshot. */
  id?: string;
  tenant_id: string;
  organizer_id: string;
  properties: string;
}

export const normalizeId = normalizeObjectId;

/** What every meeting read selects: a MeetingRow. */
export const MEETING_ROW_COLUMNS = 'id, tenant_id, organizer_id, properties';

export function meetingColumns(meeting: Meeting) {
  const p = meeting.properties;
  // Serialized once: the same text is stored and, unchanged, sent back to the caller.
  const text = storedJsonOf(p) ?? JSON.stringify(p);
  rememberJson(p, text);
  return {
    id: p.id,
    tenant_id: normalizeObjectId(meeting.tenantId),
    organizer_id: normalizeObjectId(meeting.organizerId),
    external_id: p.externalId,
    join_web_url: p.joinWebUrl,
    join_meeting_id: p.joinMeetingIdSettings.joinMeetingId,
    video_teleconference_id: p.videoTeleconferenceId,
    expiry_date_time: p.expiryDateTime,
    properties: text,
  };
}

export function meetingFromRow(row: MeetingRow): Meeting {
  const properties = row.id === undefined ? parse(row.properties) : parsedProperties(row.id, row.properties);
  return { tenantId: row.tenant_id, organizerId: row.organizer_id, properties };
}

// Meetings read again and again (a client repeating createOrGet or GET) are parsed once per
// process. An entry is used only while the stored text is exactly the one it was parsed from, so a
// change made through any process is never hidden. The parsed objects are frozen, as every request
// that reads the same text shares them. Bounded by count and by text (weighed-cache.ts), oldest
// out first.
const parsed = new WeighedCache<string, { text: string; properties: MeetingProperties }>(256, 4 * 1024 * 1024);

function parsedProperties(id: string, text: string): MeetingProperties {
  const known = parsed.get(id);
  if (known?.text === text) return known.properties;
  const properties = parse(text);
  parsed.set(id, { text, properties }, text.length);
  return properties;
}

function parse(text: string): MeetingProperties {
  return rememberJson(deepFreeze(JSON.parse(text) as MeetingProperties), text);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}

export interface UserRow {
  tenant_id: string;
  id: string;
  upn: string | null;
  display_name: string | null;
}

export function userFromRow(row: UserRow): DirectoryUser {
  return { tenantId: row.tenant_id, id: row.id, userPrincipalName: row.upn, displayName: row.display_name };
}

/** The access_policies user id of a tenant-wide (global) grant. */
export const GLOBAL_GRANT = '*';
