// Attendance: joining and leaving through the join page records intervals on the server's clock;
// once the meeting's scheduled end has passed, they read back as Graph's meetingAttendanceReport.
import { createHash, randomUUID } from 'node:crypto';
import type { Attendee, AttendanceInterval, AttendanceRepository, AttendanceRole } from './attendance-ports.js';
import type { Clock } from './clock.js';
import type { DirectoryUser } from './directory.js';
import { InvalidRequest } from './errors.js';
import { formatInstant, parseInstant } from './instant.js';
import { type Admission, admissionOf, attendanceRoleOf } from './lobby.js';
import type { Meeting } from './meeting.js';

export const MAX_DISPLAY_NAME_LENGTH = 256;
// Control characters (and U+0000, which PostgreSQL text cannot hold) have no place in a name.
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/** The name an anonymous guest typed, trimmed; throws InvalidRequest when it is unusable. */
export function guestName(input: unknown): string {
  if (typeof input !== 'string' || input.trim() === '') throw new InvalidRequest("Enter your name in 'displayName' to join as a guest.");
  const name = input.trim();
  if (name.length > MAX_DISPLAY_NAME_LENGTH) throw new InvalidRequest(`'displayName' must be at most ${MAX_DISPLAY_NAME_LENGTH} characters.`);
  if (CONTROL_CHARACTERS.test(name)) throw new InvalidRequest("'displayName' must not contain control characters.");
  return name;
}

export interface AttendanceDeps {
  attendance: AttendanceRepository;
  clock: Clock;
}

/** Stamps are whole milliseconds of the (virtual) clock, so a test that froze it knows them exactly. */
const stampAt = (ms: number) => formatInstant({ ms, ticks: 0 });

/** Records that `attendee` joined now; says whether they wait in the lobby. */
export async function joinMeeting(deps: AttendanceDeps, meeting: Meeting, attendee: Attendee): Promise<{ interval: AttendanceInterval; admission: Admission }> {
  const interval: AttendanceInterval = {
    id: randomUUID(),
    tenantId: meeting.tenantId,
    meetingId: meeting.properties.id,
    attendee,
    role: attendanceRoleOf(meeting, attendee),
    joinDateTime: stampAt(deps.clock.now()),
    leaveDateTime: null,
  };
  await deps.attendance.recordJoin(interval);
  return { interval, admission: admissionOf(meeting, attendee) };
}

const ATTENDANCE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Closes the interval `attendanceId` now; undefined when the meeting has no such interval. */
export async function leaveMeeting(deps: AttendanceDeps, meeting: Meeting, attendanceId: string): Promise<AttendanceInterval | undefined> {
  if (!ATTENDANCE_ID.test(attendanceId)) return undefined;
  return deps.attendance.recordLeave(meeting.tenantId, meeting.properties.id, attendanceId, stampAt(deps.clock.now()));
}

export interface AttendanceIntervalView {
  joinDateTime: string;
  /** Null while the interval is open: Graph's "data lacking" form, with a duration of 0. */
  leaveDateTime: string | null;
  durationInSeconds: number;
}

export interface AttendanceRecord {
  id: string;
  emailAddress: string | null;
  identity: { id: string; displayName: string | null; tenantId: string | null };
  role: AttendanceRole;
  totalAttendanceInSeconds: number;
  attendanceIntervals: AttendanceIntervalView[];
}

export interface AttendanceReport {
  id: string;
  totalParticipantCount: number;
  meetingStartDateTime: string;
  meetingEndDateTime: string | null;
  attendanceRecords: AttendanceRecord[];
}

/** A GUID-shaped value derived from text: the same inputs always give the same id. */
function derivedId(...parts: string[]): string {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Each meeting has (at most) one session, so one report, whose id never changes. */
export function reportIdOf(meetingId: string): string {
  return derivedId('attendance-report', meetingId);
}

/** Graph lets only the organizer and co-organizers read a meeting's attendance reports. */
export function mayReadAttendance(meeting: Meeting, user: Pick<DirectoryUser, 'id' | 'userPrincipalName'>): boolean {
  if (meeting.organizerId === user.id) return true;
  const upn = user.userPrincipalName?.toLowerCase();
  return meeting.properties.participants.attendees.some(
    (a) => a.role === 'coorganizer' && (a.identity.user.id === user.id || (upn !== undefined && a.upn?.toLowerCase() === upn)),
  );
}

export function hasEnded(meeting: Meeting, nowMs: number): boolean {
  const end = parseInstant(meeting.properties.endDateTime);
  return end !== undefined && end.ms <= nowMs;
}

const msOf = (stamp: string) => parseInstant(stamp)?.ms ?? 0;

export function intervalView(interval: AttendanceInterval): AttendanceIntervalView {
  const { joinDateTime, leaveDateTime } = interval;
  const durationInSeconds = leaveDateTime === null ? 0 : Math.max(0, Math.round((msOf(leaveDateTime) - msOf(joinDateTime)) / 1000));
  return { joinDateTime, leaveDateTime, durationInSeconds };
}

/** Signed-in users are one record each; anonymous guests are told apart by the name they typed. */
function attendeeKey(attendee: Attendee): string {
  return attendee.kind === 'user' ? `user\u0000${attendee.tenantId}\u0000${attendee.userId}` : `guest\u0000${attendee.displayName}`;
}

function recordOf(meetingId: string, intervals: AttendanceInterval[]): AttendanceRecord {
  const latest = intervals[intervals.length - 1]!;
  const attendee = latest.attendee;
  const views = intervals.map(intervalView);
  const identity =
    attendee.kind === 'user'
      ? { id: attendee.userId, displayName: attendee.displayName, tenantId: attendee.tenantId }
      : { id: derivedId('guest', meetingId, attendee.displayName), displayName: attendee.displayName, tenantId: null };
  return {
    id: identity.id,
    emailAddress: attendee.kind === 'user' ? attendee.emailAddress : null,
    identity,
    role: latest.role,
    totalAttendanceInSeconds: views.reduce((sum, v) => sum + v.durationInSeconds, 0),
    attendanceIntervals: views,
  };
}

/**
 * The meeting's attendance reports: none before its scheduled end has passed, or when nobody joined;
 * otherwise one, from the first join to the last leave. `intervals` are oldest join first.
 */
export function attendanceReports(meeting: Meeting, intervals: AttendanceInterval[], nowMs: number): AttendanceReport[] {
  if (!hasEnded(meeting, nowMs) || intervals.length === 0) return [];
  const byAttendee = new Map<string, AttendanceInterval[]>();
  for (const interval of intervals) {
    const key = attendeeKey(interval.attendee);
    const list = byAttendee.get(key);
    if (list) list.push(interval);
    else byAttendee.set(key, [interval]);
  }
  const records = [...byAttendee.values()].map((list) => recordOf(meeting.properties.id, list));
  const leaves = intervals.map((i) => i.leaveDateTime).filter((l): l is string => l !== null);
  return [
    {
      id: reportIdOf(meeting.properties.id),
      totalParticipantCount: records.length,
      meetingStartDateTime: intervals[0]!.joinDateTime,
      meetingEndDateTime: leaves.length > 0 ? leaves.reduce((a, b) => (msOf(b) > msOf(a) ? b : a)) : null,
      attendanceRecords: records,
    },
  ];
}
