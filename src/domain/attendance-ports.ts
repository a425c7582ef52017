// What attendance (join page, attendance reports) needs from persistence. store/ implements it once
// per engine; the domain never sees SQL.

/** Roles an attendance record can carry (Graph's attendanceRecord.role). */
export type AttendanceRole = 'Organizer' | 'Presenter' | 'Attendee';

/** Who joined: a signed-in user (from a verified token) or an anonymous guest who typed a name. */
export type Attendee =
  | { kind: 'user'; tenantId: string; userId: string; displayName: string | null; emailAddress: string | null }
  | { kind: 'guest'; displayName: string };

/** One stay in a meeting, from Join to Leave (open while leaveDateTime is null). */
export interface AttendanceInterval {
  /** The attendance id handed to the joiner, which Leave names. */
  id: string;
  /** The meeting's tenant and id. */
  tenantId: string;
  meetingId: string;
  attendee: Attendee;
  role: AttendanceRole;
  joinDateTime: string;
  leaveDateTime: string | null;
}

export interface AttendanceRepository {
  recordJoin(interval: AttendanceInterval): Promise<void>;
  /**
   * Closes the open interval `id` of the meeting at `leaveDateTime`; an interval already closed
   * keeps its leave time. Returns the interval as stored, or undefined when the meeting has none by that id.
   */
  recordLeave(tenantId: string, meetingId: string, id: string, leaveDateTime: string): Promise<AttendanceInterval | undefined>;
  /** Every interval of the meeting, oldest join first. */
  listIntervals(tenantId: string, meetingId: string): Promise<AttendanceInterval[]>;
}
