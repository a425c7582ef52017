// Generated identifiers and links, in the shapes Teams uses (spec §8), on this server's public host.
import { randomFillSync, randomInt, randomUUID } from 'node:crypto';

/** Percent-encoding with lower-case hex, as in Teams join links. */
function teamsEncode(value: string): string {
  return encodeURIComponent(value).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());
}

// Random bytes taken from a pool filled a few KB at a time, as randomUUID does: a meeting needs
// several dozen, and a call into OpenSSL for each costs more than the rest of building it.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

function randomBytes(count: number): Buffer {
  if (poolOffset + count > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  poolOffset += count;
  return pool.subarray(poolOffset - count, poolOffset);
}

/** `count` random decimal digits, the first not 0 unless `zeroFirst`. */
function digits(count: number, zeroFirst = false): string {
  let out = '';
  while (out.length < count) {
    for (const byte of randomBytes(count * 2)) {
      // 250 = 25 × 10: bytes above it would make low digits likelier.
      if (byte >= 250 || (out.length === 0 && !zeroFirst && byte % 10 === 0)) continue;
      out += byte % 10;
      if (out.length === count) break;
    }
  }
  return out;
}

/**
 * Numbers looked up through an index (joinMeetingId, videoTeleconferenceId) that still sit together
 * in it: each begins with four digits (1000-9999) shared by a run of RUN_LENGTH meetings, then the
 * next four, from a random start per process; the other digits are random. Wholly random numbers
 * put every new meeting on a random page of each index, which at a million meetings was half of
 * what a create wrote to disk. Runs are counted in meetings, not in time, so a burst is spread over
 * as many runs as steady traffic is; and they are short, so that values repeat about as rarely as
 * wholly random ones would (10-digit VTC ids: ~0.75 pairs in 100,000 meetings, against ~0.55).
 */
class RunNumbers {
  private static readonly RUNS = 9000;
  private static readonly RUN_LENGTH = 16;
  private run = randomInt(RunNumbers.RUNS);
  private leftInRun = RunNumbers.RUN_LENGTH;

  constructor(private readonly length: number) {}

  next(): string {
    if (this.leftInRun === 0) {
      this.run = (this.run + 1) % RunNumbers.RUNS;
      this.leftInRun = RunNumbers.RUN_LENGTH;
    }
    this.leftInRun--;
    return String(1000 + this.run) + digits(this.length - 4, true);
  }
}

const joinMeetingIds = new RunNumbers(13);
const videoTeleconferenceIds = new RunNumbers(10);

/**
 * A GUID whose leading 48 bits are the creation time in ms (the layout of a version 7 UUID), the
 * rest random. Meeting ids and join links are built on it, so the rows a server creates one after
 * the other sit near each other in their indexes: inserts touch a few recent pages instead of one
 * random page per row in a table of millions.
 */
function timeOrderedGuid(nowMs: number): string {
  const bytes = Buffer.from(randomBytes(16));
  bytes.writeUIntBE(Math.max(0, Math.min(nowMs, 2 ** 48 - 1)), 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** `19:meeting_{base64(guid)}@thread.v2`, the chat thread of a standalone meeting. */
export function newMeetingThreadId(nowMs: number): string {
  return `19:meeting_${Buffer.from(timeOrderedGuid(nowMs)).toString('base64')}@thread.v2`;
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
  nowMs: number,
  channel?: { threadId: string; messageId: string },
): MeetingLinks {
  let threadId = channel?.threadId ?? newMeetingThreadId(nowMs);
  const messageId = channel?.messageId ?? '0';
  let id = encodeMeetingId(organizerId, messageId, threadId);
  // Prefer ids without '/' or '+' so they survive naive URL building; the thread id is ours to pick.
  for (let attempt = 0; !channel && /[+/]/.test(id) && attempt < 16; attempt++) {
    threadId = newMeetingThreadId(nowMs);
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
    joinMeetingId: joinMeetingIds.next(),
    videoTeleconferenceId: videoTeleconferenceIds.next(),
    conferenceId,
    dialinUrl: `${publicUrl}/dialin/${randomUUID()}?id=${conferenceId}`,
  };
}

export const TOLL_NUMBER = '+1 425-555-0100';

// The invitation's HTML, {slots} for each meeting's values. Its fixed text is percent-encoded once
// (encoding is per character, so encoded pieces join into the encoding of the whole): encoding the
// whole ~1 KB document for every meeting was a sizeable part of building one.
const INVITATION_PIECES = (
  'data:text/html,' +
  '<div style="width:100%;height:20px;">____________</div>' +
  '<div><span style="font-size:24px;font-weight:600;">Microsoft Teams meeting</span></div>' +
  '<div><a href="{joinWebUrl}" target="_blank">Join the meeting now</a></div>' +
  '<div>Meeting ID: {spacedJoinMeetingId}</div>' +
  `<div>Dial in by phone: <a href="tel:${TOLL_NUMBER.replace(/[ -]/g, '')},,{conferenceId}#">${TOLL_NUMBER}</a></div>` +
  '<div>Phone conference ID: {conferenceId}#</div>' +
  '<div>Video conferencing device ID: {videoTeleconferenceId}</div>' +
  '<div><a href="{meetingOptionsWebUrl}">Meeting options</a></div>'
)
  .split(/\{(\w+)\}/)
  .map((piece, i) => (i % 2 === 0 ? encodeURIComponent(piece) : piece)); // odd pieces name a slot

/** The invitation text Graph returns in joinInformation: a URL-encoded `data:text/html,` document. */
export function joinInformationHtml(links: MeetingLinks): string {
  const values: Record<string, string> = {
    joinWebUrl: links.joinWebUrl,
    spacedJoinMeetingId: links.joinMeetingId.replace(/(\d{3})(?=\d)/g, '$1 '),
    conferenceId: links.conferenceId,
    videoTeleconferenceId: links.videoTeleconferenceId,
    meetingOptionsWebUrl: links.meetingOptionsWebUrl,
  };
  let text = '';
  for (let i = 0; i < INVITATION_PIECES.length; i++) {
    text += i % 2 === 0 ? INVITATION_PIECES[i] : encodeURIComponent(values[INVITATION_PIECES[i]!]!);
  }
  return text;
}
