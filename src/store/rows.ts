// Row mapping shared by the SQL adapters: which meeting fields get their own indexed columns.
import type { Meeting, MeetingProperties } from '../domain/meeting.js';
import { normalizeObjectId } from '../domain/directory.js';

export interface MeetingRow {
  tenant_id: string;
  organizer_id: string;
  properties: string;
}

export const normalizeId = normalizeObjectId;

export function meetingColumns(meeting: Meeting) {
  const p = meeting.properties;
  return {
    id: p.id,
    tenant_id: normalizeObjectId(meeting.tenantId),
    organizer_id: normalizeObjectId(meeting.organizerId),
    external_id: p.externalId,
    join_web_url: p.joinWebUrl,
    join_meeting_id: p.joinMeetingIdSettings.joinMeetingId,
    video_teleconference_id: p.videoTeleconferenceId,
    expiry_date_time: p.expiryDateTime,
    properties: JSON.stringify(p),
  };
}

export function meetingFromRow(row: MeetingRow): Meeting {
  return {
    tenantId: row.tenant_id,
    organizerId: row.organizer_id,
    properties: JSON.parse(row.properties) as MeetingProperties,
  };
}
