// Meetings read again and again (a client repeating createOrGet or GET), answered without a read
// transaction while the database is known not to have changed. A read transaction costs ~2 µs of
// locking system calls on the WAL index, the largest single item of a served read.
//
// What "known not to have changed" rests on:
// - other connections (the writer thread, other processes): SQLite's data_version, read at every
//   control-version check (control-store.ts). Every request waits for a check that began after it
//   arrived (control/control-state.ts), so a commit made before the request was sent is seen by it;
// - this process's writer thread: the store forgets everything when a create commits, before the
//   creator is answered;
// - this connection's own writes: total_changes(), compared at every lookup (~40 ns, no transaction).
// Until the first check the cache is not used at all.
import type { Meeting } from '../../domain/meeting.js';
import { storedJsonOf } from '../../domain/meeting-json.js';
import { WeighedCache } from '../weighed-cache.js';
import type { ChangeMarks } from './change-marks.js';

type Read = () => Meeting | undefined;

/** Per index; each entry shares its frozen meeting with the rows' parse cache (rows.ts). */
const LIMIT = 1024;
/** Stored JSON text per index (UTF-16 units): a few MB however large the meetings (weighed-cache.ts). */
const TEXT_LIMIT = 4 * 1024 * 1024;

export class RecentMeetings {
  private readonly byKey = new WeighedCache<string, Meeting>(LIMIT, TEXT_LIMIT);
  private readonly byId = new WeighedCache<string, Meeting>(LIMIT, TEXT_LIMIT);
  private othersMark: number | undefined;
  private ownMark = 0;

  constructor(private readonly marks: ChangeMarks) {}

  /** At a control-version check, given `marks.others()` read there: another connection's commit since the last one empties the cache. */
  revalidate(othersMark: number) {
    if (othersMark !== this.othersMark) this.forget();
    this.othersMark = othersMark;
  }

  forget() {
    this.byKey.clear();
    this.byId.clear();
  }

  /** A live meeting (expiring after the cutoff) by its createOrGet key: remembered, or `read` from the database. */
  liveByKey(tenantId: string, organizerId: string, externalId: string, expiryCutoff: string, read: Read): Meeting | undefined {
    return this.through(this.byKey, keyOf(tenantId, organizerId, externalId), read, (m) => m.properties.expiryDateTime > expiryCutoff);
  }

  /** A meeting by its id: remembered, or `read` from the database. */
  byMeetingId(tenantId: string, meetingId: string, read: Read): Meeting | undefined {
    return this.through(this.byId, keyOf(tenantId, meetingId), read, () => true);
  }

  private through(map: WeighedCache<string, Meeting>, key: string, read: Read, holds: (meeting: Meeting) => boolean): Meeting | undefined {
    if (!this.usable()) return read();
    const known = map.get(key);
    if (known && holds(known)) return known;
    const meeting = read();
    if (meeting) remember(map, key, meeting);
    return meeting;
  }

  private usable(): boolean {
    if (this.othersMark === undefined) return false;
    const own = this.marks.own();
    if (own !== this.ownMark) {
      this.forget();
      this.ownMark = own;
    }
    return true;
  }
}

// Unambiguous: only the last part (an external or meeting id) can hold a newline; tenant and organizer ids are GUIDs.
const keyOf = (...parts: string[]) => parts.join('\n');

function remember(map: WeighedCache<string, Meeting>, key: string, meeting: Meeting) {
  // Shared by every request that reads it, as its properties already are. The store's meetings
  // carry their stored text; one without would weigh as much as the index may hold, and not be kept.
  map.set(key, Object.freeze(meeting), storedJsonOf(meeting.properties)?.length ?? TEXT_LIMIT + 1);
}
