// The last step of every creation (createOrGet and create): insert the meeting, counting it against
// the organizer's quota when limits are on. Only a meeting actually created counts.
import type { Meeting } from './meeting.js';
import type { CreationQuota, MeetingRepository } from './ports.js';

export async function insertNewMeeting(
  deps: { meetings: MeetingRepository; quota?: CreationQuota | undefined },
  meeting: Meeting,
  expiryCutoff: string,
  nowMs: number,
): Promise<{ meeting: Meeting; created: boolean }> {
  if (!deps.quota) return deps.meetings.insertOrGetMeeting(meeting, expiryCutoff);
  // Taken first, so a refused request stores nothing.
  const giveBack = await deps.quota.take(meeting.tenantId, meeting.organizerId, nowMs);
  let created = false;
  try {
    const result = await deps.meetings.insertOrGetMeeting(meeting, expiryCutoff);
    created = result.created;
    return result;
  } finally {
    // Nothing created: a concurrent first call with the same key won, or the insert failed. The
    // answer (that meeting, or the insert's error) matters more than a count the store could not fix.
    if (!created) await giveBack().catch(() => undefined);
  }
}
