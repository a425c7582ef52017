// onlineMeeting: createOrGet (spec §4): validate, default, build, then insert-or-get by key.
import type { Clock } from './clock.js';
import type { DirectoryUser } from './directory.js';
import { expiryCutoff } from './expiry.js';
import { CreationLimitReached, InvalidRequest } from './errors.js';
import { buildMeeting, channelOf } from './build-meeting.js';
import type { Instant } from './instant.js';
import { insertNewMeeting } from './insert-new-meeting.js';
import { meetingTimes } from './meeting-times.js';
import type { CreationQuota, DirectoryRepository, MeetingRepository } from './ports.js';
import { type ParticipantInput, resolveAttendees } from './participants.js';

export const EXTERNAL_ID_MAX_LENGTH = 256;

/** The createOrGet body once its JSON shape is checked (http/ does that with a schema). */
export interface CreateOrGetBody {
  externalId?: string | null;
  startDateTime?: string | null;
  endDateTime?: string | null;
  subject?: string | null;
  participants?: { organizer?: ParticipantInput | null; attendees?: ParticipantInput[] | null } | null;
  chatInfo?: { threadId?: string | null; messageId?: string | null; replyChainMessageId?: string | null } | null;
}

export interface ValidCreateOrGet {
  externalId: string;
  start: Instant;
  end: Instant;
  subject: string | null;
  attendees: ParticipantInput[];
  channel?: { threadId: string; messageId: string };
}

// C0/C1 controls, and lone surrogates (which would collide once encoded as UTF-8).
const FORBIDDEN_KEY_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

export function validateExternalId(externalId: string | null | undefined): string {
  if (externalId === undefined || externalId === null) throw new InvalidRequest("The 'externalId' property is required.");
  const length = [...externalId].length;
  if (length < 1 || length > EXTERNAL_ID_MAX_LENGTH) {
    throw new InvalidRequest(`The 'externalId' property must be 1 to ${EXTERNAL_ID_MAX_LENGTH} characters long.`);
  }
  if (FORBIDDEN_KEY_CHARS.test(externalId) || !externalId.isWellFormed()) {
    throw new InvalidRequest("The 'externalId' property must not contain control characters or invalid Unicode.");
  }
  return externalId;
}

/** Every rule of spec §4.3, before any lookup, so a bad request never reaches the store. */
export function validateCreateOrGet(body: CreateOrGetBody, nowMs: number): ValidCreateOrGet {
  const externalId = validateExternalId(body.externalId);
  const { start, end } = meetingTimes(body.startDateTime, body.endDateTime, nowMs);
  const channel = channelOf(body.chatInfo, nowMs);
  return {
    externalId,
    start,
    end,
    subject: body.subject ?? null,
    attendees: body.participants?.attendees ?? [],
    ...(channel ? { channel } : {}),
  };
}

export interface MeetingDeps {
  meetings: MeetingRepository;
  directory: DirectoryRepository;
  clock: Clock;
  /** Graph's monthly creation limit per organizer; absent when limits are off. */
  quota?: CreationQuota | undefined;
}

/**
 * The createOrGet use case: one meeting per (tenant, organizer, externalId), created at most once.
 * `publicUrl` is the base URL that join links and dial-in pages are generated on.
 */
export async function createOrGetMeeting(
  deps: MeetingDeps,
  organizer: DirectoryUser,
  body: CreateOrGetBody,
  publicUrl: string,
) {
  const nowMs = deps.clock.now();
  const input = validateCreateOrGet(body, nowMs);
  const attendees = input.attendees.length > 0 ? await resolveAttendees(deps.directory, organizer.tenantId, input.attendees) : [];
  const cutoff = expiryCutoff(nowMs);
  // The common case is a repeated key: answer it with one read, before building a candidate.
  const existing = await deps.meetings.findLiveMeetingByKey(organizer.tenantId, organizer.id, input.externalId, cutoff);
  if (existing) return { meeting: existing, created: false };
  // The unique index still decides between concurrent first calls.
  const meeting = buildMeeting({ organizer, ...input, attendees }, nowMs, publicUrl);
  try {
    return await insertNewMeeting(deps, meeting, cutoff, nowMs);
  } catch (error) {
    // An existing key is never refused by the limit, not even one a concurrent call just created.
    if (!(error instanceof CreationLimitReached)) throw error;
    const created = await deps.meetings.findLiveMeetingByKey(organizer.tenantId, organizer.id, input.externalId, cutoff);
    if (created) return { meeting: created, created: false };
    throw error;
  }
}
