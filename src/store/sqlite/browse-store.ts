// The console's read queries on SQLite (control/browse-ports.ts), on the main connection. Search
// statements are prepared once per combination of filters.
import type Database from 'better-sqlite3';
import type { BrowseRepository, MeetingSearch } from '../../control/browse-ports.js';
import { browsedMeeting, directoryListing, type DirectoryRows, directorySql, meetingSearchSql, type MeetingSearchRow, type SqlDialect } from '../browse-sql.js';

// SQLite's own lower() folds ASCII only; this one folds like PostgreSQL's (and JavaScript's).
const LOWER = 'graph_meetings_lower';

const dialect: SqlDialect = {
  placeholder: () => '?',
  jsonText: (member) => `json_extract(m.properties, '$.${member}')`,
  lower: (expression) => `${LOWER}(${expression})`,
  contains: (haystack, needle) => `instr(${haystack}, ${needle}) > 0`,
  binary: (expression) => expression,
};

export class SqliteBrowseStore implements BrowseRepository {
  private readonly searches = new Map<string, Database.Statement<unknown[], MeetingSearchRow>>();
  private readonly directoryStatements;

  constructor(private readonly db: Database.Database) {
    db.function(LOWER, { deterministic: true }, (value: unknown) => (typeof value === 'string' ? value.toLowerCase() : value));
    const sql = directorySql(dialect);
    this.directoryStatements = {
      tenants: db.prepare<[], DirectoryRows['tenants'][number]>(sql.tenants),
      userCounts: db.prepare<[], DirectoryRows['userCounts'][number]>(sql.userCounts),
      meetingCounts: db.prepare<[], DirectoryRows['meetingCounts'][number]>(sql.meetingCounts),
      users: db.prepare<[], DirectoryRows['users'][number]>(sql.users),
      policies: db.prepare<[], DirectoryRows['policies'][number]>(sql.policies),
    };
  }

  async searchMeetings(query: MeetingSearch) {
    const { text, values } = meetingSearchSql(query, dialect);
    let statement = this.searches.get(text);
    if (!statement) {
      statement = this.db.prepare<unknown[], MeetingSearchRow>(text);
      this.searches.set(text, statement);
    }
    return statement.all(...values).map(browsedMeeting);
  }

  async directory() {
    const s = this.directoryStatements;
    // One read transaction: counts and lists from the same moment.
    return this.db.transaction(() =>
      directoryListing({
        tenants: s.tenants.all(),
        userCounts: s.userCounts.all(),
        meetingCounts: s.meetingCounts.all(),
        users: s.users.all(),
        policies: s.policies.all(),
      }),
    )();
  }
}
