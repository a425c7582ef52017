// PATCH …/onlineMeetings/{id} (spec §5.4): validate the patch, then apply it to the stored meeting
// in one atomic step, so concurrent updates never interleave.
import type { Clock } from './clock.js';
import { meetingTimes } from './meeting-times.js';
import type { DirectoryUser } from './directory.js';
import { InvalidRequest, MeetingNotFound, NotOrganizer } from './errors.js';
import { formatInstant, type Instant } from './instant.js';
import type { Meeting, ParticipantInfo } from './meeting.js';
import { mergeSettings, UPDATABLE_SETTINGS } from './meeting-settings.js';
import { expiryAfter, isExpired } from './expiry.js';
import type { DirectoryRepository, MeetingRepository } from './ports.js';
import { type ParticipantInput, resolveAttendees } from './participants.js';

export interface MeetingPatch extends Record<string, unknown> {
  startDateTime?: string | null;
  endDateTime?: string | null;
  subject?: string | null;
  participants?: { organizer?: ParticipantInput | null; attendees?: ParticipantInput[] | null } | null;
  joinMeetingIdSettings?: { isPasscodeRequired?: boolean | null } | null;
  meetingTemplateId?: string | null;
  anonymizeIdentityForRoles?: string[] | null;
  allowedPresenters?: string | null;
}

interface ValidPatch {
  times?: { start: Instant; end: Instant };
  attendees?: ParticipantInput[];
}

function validatePatch(patch: MeetingPatch, nowMs: number): ValidPatch {
  const hasStart = patch.startDateTime != null;
  const hasEnd = patch.endDateTime != null;
  if (hasStart !== hasEnd) {
    throw new InvalidRequest("Both 'startDateTime' and 'endDateTime' must be given to change the meeting's time.");
  }
  const attendees = patch.participants?.attendees ?? undefined;
  if (patch.allowedPresenters === 'roleIsPresenter' && !attendees) {
    throw new InvalidRequest(
      "Setting 'allowedPresenters' to 'roleIsPresenter' requires the full attendee list, with role 'presenter' on the presenters.",
    );
  }
  return {
    ...(hasStart ? { times: meetingTimes(patch.startDateTime, patch.endDateTime, nowMs) } : {}),
    ...(attendees ? { attendees } : {}),
  };
}

/** The rules that compare the patch with the stored meeting. */
function checkAgainstStored(current: Meeting, patch: MeetingPatch) {
  const organizerId = patch.participants?.organizer?.identity?.user?.id;
  if (organizerId && organizerId.toLowerCase() !== current.organizerId) {
    throw new InvalidRequest('The organizer of a meeting cannot be changed.');
  }
  const passcode = patch.joinMeetingIdSettings?.isPasscodeRequired;
  if (passcode != null && passcode !== current.properties.joinMeetingIdSettings.isPasscodeRequired) {
    throw new InvalidRequest("'joinMeetingIdSettings' cannot be changed after the meeting is created; cancel it and create a new one.");
  }
  if (patch.meetingTemplateId != null && patch.meetingTemplateId !== current.properties.meetingTemplateId) {
    throw new InvalidRequest("'meetingTemplateId' cannot be changed after the meeting is created.");
  }
  const anonymized = patch.anonymizeIdentityForRoles;
  if (anonymized && (current.properties.anonymizeIdentityForRoles ?? []).includes('attendee') && !anonymized.includes('attendee')) {
    throw new InvalidRequest("'attendee' cannot be removed from 'anonymizeIdentityForRoles' once added.");
  }
}

/** An update keeps the meeting alive for another 60 days (spec §9); it never shortens its life. */
function extendedExpiry(currentExpiry: string, end: string, nowMs: number): string {
  const extended = expiryAfter(end, nowMs);
  return extended > currentExpiry ? extended : currentExpiry;
}

export function applyPatch(current: Meeting, patch: MeetingPatch, valid: ValidPatch, attendees: ParticipantInfo[] | undefined, nowMs: number): Meeting {
  checkAgainstStored(current, patch);
  const p = mergeSettings(current.properties, patch, UPDATABLE_SETTINGS);
  if (patch.subject !== undefined) p.subject = patch.subject;
  if (valid.times) {
    p.startDateTime = formatInstant(valid.times.start);
    p.endDateTime = formatInstant(valid.times.end);
  }
  if (attendees) p.participants = { ...p.participants, attendees };
  if (patch.anonymizeIdentityForRoles) p.anonymizeIdentityForRoles = [...new Set(patch.anonymizeIdentityForRoles)];
  p.expiryDateTime = extendedExpiry(current.properties.expiryDateTime, p.endDateTime, nowMs);
  return { ...current, properties: p };
}

export async function updateMeeting(
  deps: { meetings: MeetingRepository; directory: DirectoryRepository; clock: Clock },
  user: DirectoryUser,
  meetingId: string,
  patch: MeetingPatch,
): Promise<Meeting> {
  const nowMs = deps.clock.now();
  const valid = validatePatch(patch, nowMs);
  const attendees = valid.attendees ? await resolveAttendees(deps.directory, user.tenantId, valid.attendees) : undefined;
  const updated = await deps.meetings.updateMeeting(user.tenantId, meetingId, (current) => {
    if (isExpired(current, nowMs)) throw new MeetingNotFound();
    if (current.organizerId !== user.id) throw new NotOrganizer();
    return applyPatch(current, patch, valid, attendees, nowMs);
  });
  if (!updated) throw new MeetingNotFound();
  return updated;
}
