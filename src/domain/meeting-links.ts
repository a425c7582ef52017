// Generated identifiers and links, in the shapes Teams uses (spec §8), on this server's public host.
import { randomInt, randomUUID } from 'node:crypto';

/** Percent-encoding with lower-case hex, as in Teams join links. */
function teamsEncode(value: string): string {
  return encodeURIComponent(value).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
}

function digits(count: number): string {
  let out = String(randomInt(1, 10));
  while (out.length < count) out += String(randomInt(0, 10));
  return out;
}

/** `19:meeting_{base64(guid)}@thread.v2`, the chat thread of a standalone meeting. */
export function newMeetingThreadId(): string {
  return `19:meeting_${Buffer.from(randomUUID()).toString('base64')}@thread.v2`;
}

const MEETING_ID_PREFIX = '1*';

/** base64 of `1*{organizerId}*{messageId}**{threadId}`. */
export function encodeMeetingId(organizerId: string, messageId: string, threadId: string): string {
  return Buffer.from(`${MEETING_ID_PREFIX}${organizerId}*${messageId}**${threadId}`).toString('base64');
}

export type MeetingIdShape = 'valid' | 'corrupted' | 'unknown';

/**
 * Graph answers 400 "Meeting Id is corrupted." for base64 that decodes to another format
 * (for example Teams-client ids, `0#{threadId}#0`), and 404 for anything that is not base64.
 */
export function meetingIdShape(id: string): MeetingIdShape {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(id) || id.length % 4 !== 0) return 'unknown';
  const decoded = Buffer.from(id, 'base64').toString('utf8');
  return /^1\*[^*]+\*[^*]*\*\*.+$/.test(decoded) ? 'valid' : 'corrupted';
}

export interface MeetingLinks {
  threadId: string;
  messageId: string;
  id: string;
  joinWebUrl: string;
  meetingOptionsWebUrl: string;
  joinMeetingId: string;
  videoTeleconferenceId: string;
  conferenceId: string;
  dialinUrl: string;
}

export function newMeetingLinks(
  publicUrl: string,
  tenantId: string,
  organizerId: string,
  channel?: { threadId: string; messageId: string },
): MeetingLinks {
  let threadId = channel?.threadId ?? newMeetingThreadId();
  const messageId = channel?.messageId ?? '0';
  let id = encodeMeetingId(organizerId, messageId, threadId);
  // Prefer ids without '/' or '+' so they survive naive URL building; the thread id is ours to pick.
  for (let attempt = 0; !channel && /[+/]/.test(id) && attempt < 16; attempt++) {
    threadId = newMeetingThreadId();
    id = encodeMeetingId(organizerId, messageId, threadId);
  }
  const context = teamsEncode(JSON.stringify({ Tid: tenantId, Oid: organizerId }));
  const conferenceId = digits(9);
  return {
    threadId,
    messageId,
    id,
    joinWebUrl: `${publicUrl}/l/meetup-join/${teamsEncode(threadId)}/${messageId}?context=${context}`,
    meetingOptionsWebUrl:
      `${publicUrl}/meetingOptions/?organizerId=${organizerId}&tenantId=${tenantId}` +
      `&threadId=${threadId.replace(/:/g, '_')}&messageId=${messageId}&language=en-US`,
    joinMeetingId: digits(13),
    videoTeleconferenceId: digits(10),
    conferenceId,
    dialinUrl: `${publicUrl}/dialin/${randomUUID()}?id=${conferenceId}`,
  };
}

export const TOLL_NUMBER = '+1 425-555-0100';

/** The invitation text Graph returns in joinInformation: a URL-encoded `data:text/html,` document. */
export function joinInformationHtml(links: MeetingLinks): string {
  const html =
    '<div style="width:100%;height:20px;">____________</div>' +
    '<div><span style="font-size:24px;font-weight:600;">Microsoft Teams meeting</span></div>' +
    `<div><a href="${links.joinWebUrl}" target="_blank">Join the meeting now</a></div>` +
    `<div>Meeting ID: ${links.joinMeetingId.replace(/(\d{3})(?=\d)/g, '$1 ')}</div>` +
    `<div>Dial in by phone: <a href="tel:${TOLL_NUMBER.replace(/[ -]/g, '')},,${links.conferenceId}#">${TOLL_NUMBER}</a></div>` +
    `<div>Phone conference ID: ${links.conferenceId}#</div>` +
    `<div>Video conferencing device ID: ${links.videoTeleconferenceId}</div>` +
    `<div><a href="${links.meetingOptionsWebUrl}">Meeting options</a></div>`;
  return encodeURIComponent(`data:text/html,${html}`);
}
