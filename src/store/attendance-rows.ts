// Row mapping of attendance_intervals, shared by the SQL adapters.
import type { AttendanceInterval, AttendanceRole } from '../domain/attendance-ports.js';
import { normalizeId } from './rows.js';

export interface AttendanceRow {
  id: string;
  tenant_id: string;
  meeting_id: string;
  /** Null for an anonymous guest. */
  user_tenant_id: string | null;
  user_id: string | null;
  display_name: string | null;
  email_address: string | null;
  role: string;
  join_date_time: string;
  leave_date_time: string | null;
}

export const ATTENDANCE_COLUMNS =
  'id, tenant_id, meeting_id, user_tenant_id, user_id, display_name, email_address, role, join_date_time, leave_date_time';

export function attendanceRow(interval: AttendanceInterval): AttendanceRow {
  const { attendee } = interval;
  const user = attendee.kind === 'user' ? attendee : undefined;
  return {
    id: interval.id,
    tenant_id: normalizeId(interval.tenantId),
    meeting_id: interval.meetingId,
    user_tenant_id: user ? normalizeId(user.tenantId) : null,
    user_id: user ? normalizeId(user.userId) : null,
    display_name: attendee.displayName,
    email_address: user ? user.emailAddress : null,
    role: interval.role,
    join_date_time: interval.joinDateTime,
    leave_date_time: interval.leaveDateTime,
  };
}

export function intervalFromRow(row: AttendanceRow): AttendanceInterval {
  const attendee: AttendanceInterval['attendee'] =
    row.user_id !== null && row.user_tenant_id !== null
      ? { kind: 'user', tenantId: row.user_tenant_id, userId: row.user_id, displayName: row.display_name, emailAddress: row.email_address }
      : { kind: 'guest', displayName: row.display_name ?? '' };
  return {
    id: row.id,
    tenantId: row.tenant_id,
    meetingId: row.meeting_id,
    attendee,
    role: row.role as AttendanceRole,
    joinDateTime: row.join_date_time,
    leaveDateTime: row.leave_date_time,
  };
}
