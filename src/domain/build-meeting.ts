// A new meeting with every generated value (spec §8) and the tenant defaults (§4.5).
import type { DirectoryUser } from './directory.js';
import { InvalidRequest } from './errors.js';
import { expiryAfter } from './expiry.js';
import { formatInstant, type Instant, instantAt } from './instant.js';
import { defaultSettings, type Meeting, type ParticipantInfo } from './meeting.js';
import { joinInformationHtml, newMeetingLinks, TOLL_NUMBER } from './meeting-links.js';

const CHANNEL_THREAD = /^19:[A-Za-z0-9_\-=+/.]{1,200}@thread\.(tacv2|skype|v2)$/;

/** A channel meeting when chatInfo names a channel thread (beta): posted as a message in it. */
export function channelOf(chatInfo: { threadId?: string | null } | null | undefined, nowMs: number) {
  if (!chatInfo?.threadId) return undefined;
  if (!CHANNEL_THREAD.test(chatInfo.threadId)) {
    throw new InvalidRequest("'chatInfo.threadId' must be the thread id of a Teams channel, such as 19:abc@thread.tacv2.");
  }
  // The message's id is a millisecond timestamp, as Teams' are.
  return { threadId: chatInfo.threadId, messageId: String(nowMs) };
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
  const links = newMeetingLinks(publicUrl, organizer.tenantId, organizer.id, nowMs, spec.channel);
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
      ...defaultSettings(),
    },
  };
}

function newPasscode(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789';
  let out = '';
  for (let i = 0; i < 6; i++) out += alphabet[Math.floor(Math.random() * alphabet.length)];
  return out;
}
