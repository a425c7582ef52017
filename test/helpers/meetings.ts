// Meetings built as the domain builds them, for tests that talk to a store directly.
import { buildMeeting } from '../../src/domain/build-meeting.js';
import type { DirectoryUser } from '../../src/domain/directory.js';
import { instantAt } from '../../src/domain/instant.js';
import type { Meeting, MeetingProperties } from '../../src/domain/meeting.js';

const HOUR_MS = 3_600_000;

/** A realistic new meeting (buildMeeting), optionally with some properties overridden. */
export function meetingFor(tenantId: string, organizerId: string, externalId: string | null, override: Partial<MeetingProperties> = {}): Meeting {
  const nowMs = Date.now();
  const organizer: DirectoryUser = { tenantId, id: organizerId, userPrincipalName: `${organizerId}@test.example`, displayName: 'Organizer' };
  const built = buildMeeting(
    { organizer, externalId, start: instantAt(nowMs), end: instantAt(nowMs + HOUR_MS), subject: 'subject', attendees: [] },
    nowMs,
    'https://meetings.test',
  );
  return { ...built, properties: { ...built.properties, ...override } };
}
