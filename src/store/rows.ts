// Row mapping shared by the SQL adapters: which meeting fields get their own indexed columns.
import type { DirectoryUser } from '../domain/directory.js';
import type { Meeting, MeetingProperties } from '../domain/meeting.js';
import { normalizeObjectId } from '../domain/directory.js';
import { rememberJson, storedJsonOf } from '../domain/meeting-json.js';

export interface MeetingRow {
  tenant_id: string;
  organizer_id: string;
  properties: string;
}

export const normalizeId = normalizeObjectId;

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
  return {
    tenantId: row.tenant_id,
    organizerId: row.organizer_id,
    properties: rememberJson(JSON.parse(row.properties) as MeetingProperties, row.properties),
  };
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
