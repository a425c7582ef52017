// Attendance intervals on SQLite (domain/attendance-ports.ts): each write is one IMMEDIATE
// transaction on the main connection (main-writes.ts).
import type Database from 'better-sqlite3';
import type { AttendanceInterval, AttendanceRepository } from '../../domain/attendance-ports.js';
import { ATTENDANCE_COLUMNS, attendanceRow, type AttendanceRow, intervalFromRow } from '../attendance-rows.js';
import { normalizeId } from '../rows.js';
import type { Write } from './main-writes.js';

export class SqliteAttendanceStore implements AttendanceRepository {
  private readonly s;

  constructor(
    db: Database.Database,
    private readonly write: Write,
  ) {
    this.s = {
      insert: db.prepare(
        `INSERT INTO attendance_intervals (${ATTENDANCE_COLUMNS})
         VALUES (@id, @tenant_id, @meeting_id, @user_tenant_id, @user_id, @display_name, @email_address, @role, @join_date_time, @leave_date_time)`,
      ),
      leave: db.prepare(
        `UPDATE attendance_intervals SET leave_date_time = ?
         WHERE tenant_id = ? AND meeting_id = ? AND id = ? AND leave_date_time IS NULL`,
      ),
      one: db.prepare<[string, string, string], AttendanceRow>(
        `SELECT ${ATTENDANCE_COLUMNS} FROM attendance_intervals WHERE tenant_id = ? AND meeting_id = ? AND id = ?`,
      ),
      ofMeeting: db.prepare<[string, string], AttendanceRow>(
        `SELECT ${ATTENDANCE_COLUMNS} FROM attendance_intervals WHERE tenant_id = ? AND meeting_id = ? ORDER BY join_date_time, id`,
      ),
    };
  }

  async recordJoin(interval: AttendanceInterval) {
    const row = attendanceRow(interval);
    await this.write(() => this.s.insert.run(row));
  }

  async recordLeave(tenantId: string, meetingId: string, id: string, leaveDateTime: string) {
    const tenant = normalizeId(tenantId);
    const row = await this.write(() => {
      this.s.leave.run(leaveDateTime, tenant, meetingId, id);
      return this.s.one.get(tenant, meetingId, id);
    });
    return row ? intervalFromRow(row) : undefined;
  }

  async listIntervals(tenantId: string, meetingId: string) {
    return this.s.ofMeeting.all(normalizeId(tenantId), meetingId).map(intervalFromRow);
  }
}
