// onlineMeeting: createOrGet (spec §4): validate, default, build, then insert-or-get by key.
import type { Clock } from './clock.js';
import type { DirectoryUser } from './directory.js';
import { expiryAfter, expiryCutoff } from './expiry.js';
import { InvalidRequest } from './errors.js';
import {
  addMilliseconds,
  compareInstants,
  formatInstant,
  HOUR_MS,
  type Instant,
  instantAt,
  parseInstant,
} from './instant.js';
import { DEFAULT_SETTINGS, type Meeting, type ParticipantInfo } from './meeting.js';
import { joinInformationHtml, newMeetingLinks, TOLL_NUMBER } from './meeting-links.js';
import type { DirectoryRepository, MeetingRepository } from './ports.js';
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

export function parseDateTimeProperty(name: string, value: string): Instant {
  const instant = parseInstant(value);
  if (!instant) {
    throw new InvalidRequest(
      `Invalid value '${value.slice(0, 64)}' for '${name}': expected an ISO 8601 date-time with a time-zone offset, such as 2020-02-06T01:49:21.3524945+00:00.`,
    );
  }
  return instant;
}

/** Start/end rules of spec §4.3: defaults, end without start, end before start. */
export function meetingTimes(startText: string | null | undefined, endText: string | null | undefined, nowMs: number) {
  const start = startText == null ? undefined : parseDateTimeProperty('startDateTime', startText);
  const end = endText == null ? undefined : parseDateTimeProperty('endDateTime', endText);
  if (end && !start) throw new InvalidRequest("'endDateTime' cannot be specified without 'startDateTime'.");
  const effectiveStart = start ?? instantAt(nowMs);
  const effectiveEnd = end ?? addMilliseconds(effectiveStart, HOUR_MS);
  if (compareInstants(effectiveEnd, effectiveStart) < 0) {
    throw new InvalidRequest("'endDateTime' must not be earlier than 'startDateTime'.");
  }
  return { start: effectiveStart, end: effectiveEnd };
}

const CHANNEL_THREAD = /^19:[A-Za-z0-9_\-=+/.]{1,200}@thread\.(tacv2|skype|v2)$/;

export function channelOf(chatInfo: CreateOrGetBody['chatInfo'], nowMs: number) {
  if (!chatInfo?.threadId) return undefined;
  if (!CHANNEL_THREAD.test(chatInfo.threadId)) {
    throw new InvalidRequest("'chatInfo.threadId' must be the thread id of a Teams channel, such as 19:abc@thread.tacv2.");
  }
  // A channel meeting is posted as a message in the channel; its id is a millisecond timestamp.
  return { threadId: chatInfo.threadId, messageId: String(nowMs) };
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

export function organizerParticipant(organizer: DirectoryUser): ParticipantInfo {
  return {
    upn: organizer.userPrincipalName,
    role: 'presenter',
    identity: {
      user: {
        id: organizer.id,
        displayName: organizer.displayName,
        tenantId: organizer.tenantId,
        identityProvider: 'AAD',
      },
    },
  };
}

export interface NewMeetingSpec {
  organizer: DirectoryUser;
  externalId: string | null;
  start: Instant;
  end: Instant;
  subject: string | null;
  attendees: ParticipantInfo[];
  channel?: { threadId: string; messageId: string };
  isPasscodeRequired?: boolean;
}

/** A complete new meeting with every generated value (spec §8) and the tenant defaults (§4.5). */
export function buildMeeting(spec: NewMeetingSpec, nowMs: number, publicUrl: string): Meeting {
  const { organizer } = spec;
  const links = newMeetingLinks(publicUrl, organizer.tenantId, organizer.id, spec.channel);
  const endDateTime = formatInstant(spec.end);
  return {
    tenantId: organizer.tenantId,
    organizerId: organizer.id,
    properties: {
      id: links.id,
      creationDateTime: formatInstant(instantAt(nowMs)),
      startDateTime: formatInstant(spec.start),
      endDateTime,
      expiryDateTime: expiryAfter(endDateTime, nowMs),
      externalId: spec.externalId,
      subject: spec.subject,
      joinWebUrl: links.joinWebUrl,
      videoTeleconferenceId: links.videoTeleconferenceId,
      meetingOptionsWebUrl: links.meetingOptionsWebUrl,
      participants: { organizer: organizerParticipant(organizer), attendees: spec.attendees },
      chatInfo: {
        threadId: links.threadId,
        messageId: links.messageId,
        replyChainMessageId: null,
      },
      joinMeetingIdSettings: {
        isPasscodeRequired: spec.isPasscodeRequired ?? false,
        joinMeetingId: links.joinMeetingId,
        passcode: spec.isPasscodeRequired ? newPasscode() : null,
      },
      audioConferencing: {
        conferenceId: links.conferenceId,
        tollNumber: TOLL_NUMBER,
        tollFreeNumber: null,
        tollNumbers: [TOLL_NUMBER],
        tollFreeNumbers: [],
        dialinUrl: links.dialinUrl,
      },
      joinInformation: { content: joinInformationHtml(links), contentType: 'html' },
      ...structuredClone(DEFAULT_SETTINGS),
    },
  };
}

function newPasscode(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789';
  let out = '';
  for (let i = 0; i < 6; i++) out += alphabet[Math.floor(Math.random() * alphabet.length)];
  return out;
}

export interface MeetingDeps {
  meetings: MeetingRepository;
  directory: DirectoryRepository;
  clock: Clock;
}

/** The createOrGet use case: one meeting per (tenant, organizer, externalId), created at most once. */
/** `publicUrl` is the base URL that join links and dial-in pages are generated on. */
export async function createOrGetMeeting(
  deps: MeetingDeps,
  organizer: DirectoryUser,
  body: CreateOrGetBody,
  publicUrl: string,
) {
  const nowMs = deps.clock.now();
  const input = validateCreateOrGet(body, nowMs);
  const attendees = await resolveAttendees(deps.directory, organizer.tenantId, input.attendees);
  const meeting = buildMeeting({ organizer, ...input, attendees }, nowMs, publicUrl);
  return deps.meetings.insertOrGetMeeting(meeting, expiryCutoff(nowMs));
}
