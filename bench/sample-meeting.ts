// A meeting as the server answers it, built by the real domain code, for the baseline's body and
// for bulk-loading the store.
import { buildMeeting } from '../src/domain/build-meeting.js';
import { HOUR_MS, instantAt } from '../src/domain/instant.js';
import type { Meeting } from '../src/domain/meeting.js';
import { serializeMeeting } from '../src/http/serialize-meeting.js';

export const BENCH_TENANT = 'c0ffee00-0b0e-4d0c-a000-000000000001';

export function sampleMeeting(n: number, nowMs = Date.now(), organizerId = `0000bead-0000-4000-8000-${String(n % 1000).padStart(12, '0')}`): Meeting {
  const organizer = { tenantId: BENCH_TENANT, id: organizerId, userPrincipalName: null, displayName: null };
  const start = instantAt(nowMs);
  return buildMeeting(
    { organizer, externalId: `seed-${n}`, start, end: { ms: start.ms + HOUR_MS, ticks: 0 }, subject: 'Bench', attendees: [] },
    nowMs,
    'http://127.0.0.1:8080',
  );
}

export function sampleMeetingBody() {
  return serializeMeeting(sampleMeeting(0), {
    version: 'v1.0',
    context: "http://127.0.0.1:8080/v1.0/$metadata#users('0000bead-0000-4000-8000-000000000000')/onlineMeetings/$entity",
    includeUnknownEnumMembers: false,
  });
}
