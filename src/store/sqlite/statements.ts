// SQL shared by the main connection and the writer thread's.

/** A live meeting by its createOrGet key (expiry after the cutoff). */
export const LIVE_MEETING_BY_KEY = `SELECT tenant_id, organizer_id, properties FROM meetings
  WHERE tenant_id = ? AND organizer_id = ? AND external_id = ? AND expiry_date_time > ?`;

/** Insert-or-get in one statement: the partial unique index decides; an expired holder is replaced. */
export const INSERT_MEETING = `INSERT INTO meetings (id, tenant_id, organizer_id, external_id, join_web_url, join_meeting_id,
                         video_teleconference_id, expiry_date_time, properties)
   VALUES (@id, @tenant_id, @organizer_id, @external_id, @join_web_url, @join_meeting_id,
           @video_teleconference_id, @expiry_date_time, @properties)
   ON CONFLICT (tenant_id, organizer_id, external_id) WHERE external_id IS NOT NULL
   DO UPDATE SET id = excluded.id, join_web_url = excluded.join_web_url,
     join_meeting_id = excluded.join_meeting_id, video_teleconference_id = excluded.video_teleconference_id,
     expiry_date_time = excluded.expiry_date_time, properties = excluded.properties
   WHERE meetings.expiry_date_time <= @expiry_cutoff`;

export const BUSY_TIMEOUT_MS = 15_000;
