// Attendance intervals on PostgreSQL (domain/attendance-ports.ts): single statements, so no
// transaction is needed; closing an interval returns the row it left behind.
import type { AttendanceInterval, AttendanceRepository } from '../../domain/attendance-ports.js';
import { ATTENDANCE_COLUMNS, attendanceRow, type AttendanceRow, intervalFromRow } from '../attendance-rows.js';
import { normalizeId } from '../rows.js';
import type { PostgresAccess } from './control-store.js';

export class PostgresAttendanceStore implements AttendanceRepository {
  constructor(private readonly db: Pick<PostgresAccess, 'query'>) {}

  async recordJoin(interval: AttendanceInterval) {
    const r = attendanceRow(interval);
    await this.db.query(
      `INSERT INTO attendance_intervals (${ATTENDANCE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [r.id, r.tenant_id, r.meeting_id, r.user_tenant_id, r.user_id, r.display_name, r.email_address, r.role, r.join_date_time, r.leave_date_time],
    );
  }

  async recordLeave(tenantId: string, meetingId: string, id: string, leaveDateTime: string) {
    // The interval's own leave time when it is already closed: COALESCE keeps the first Leave.
    const { rows } = await this.db.query<AttendanceRow>(
      `UPDATE attendance_intervals SET leave_date_time = COALESCE(leave_date_time, $4)
       WHERE tenant_id = $1 AND meeting_id = $2 AND id = $3
       RETURNING ${ATTENDANCE_COLUMNS}`,
      [normalizeId(tenantId), meetingId, id, leaveDateTime],
    );
    return rows[0] ? intervalFromRow(rows[0]) : undefined;
  }

  async listIntervals(tenantId: string, meetingId: string) {
    const { rows } = await this.db.query<AttendanceRow>(
      `SELECT ${ATTENDANCE_COLUMNS} FROM attendance_intervals WHERE tenant_id = $1 AND meeting_id = $2 ORDER BY join_date_time, id`,
      [normalizeId(tenantId), meetingId],
    );
    return rows.map(intervalFromRow);
  }
}
