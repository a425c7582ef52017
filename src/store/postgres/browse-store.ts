// The console's read queries on PostgreSQL (control/browse-ports.ts).
import type { BrowseRepository, MeetingSearch } from '../../control/browse-ports.js';
import { browsedMeeting, directoryListing, type DirectoryRows, directorySql, meetingSearchSql, type MeetingSearchRow, type SqlDialect } from '../browse-sql.js';
import type { PostgresAccess } from './control-store.js';

const dialect: SqlDialect = {
  placeholder: (n) => `$${n}`,
  // The JSON is kept as text (member order); ::json only parses it, cheaper than ::jsonb.
  jsonText: (member) => `(m.properties::json ->> '${member}')`,
  lower: (expression) => `lower(${expression})`,
  contains: (haystack, needle) => `strpos(${haystack}, ${needle}) > 0`,
  binary: (expression) => `${expression} COLLATE "C"`,
};

const SQL = directorySql(dialect);

export class PostgresBrowseStore implements BrowseRepository {
  constructor(private readonly db: Pick<PostgresAccess, 'query' | 'transaction'>) {}

  async searchMeetings(query: MeetingSearch) {
    const { text, values } = meetingSearchSql(query, dialect);
    // PostgreSQL text cannot hold U+0000, so no stored value contains one (as postgres-store.ts).
    if (values.some((value) => typeof value === 'string' && value.includes('\u0000'))) return [];
    const { rows } = await this.db.query<MeetingSearchRow>(text, values);
    return rows.map(browsedMeeting);
  }

  async directory() {
    return this.db.transaction(async (client) => {
      await client.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const read = async <K extends keyof DirectoryRows>(name: K) => (await client.query<DirectoryRows[K][number]>(SQL[name])).rows as DirectoryRows[K];
      return directoryListing({
        tenants: await read('tenants'),
        userCounts: await read('userCounts'),
        meetingCounts: await read('meetingCounts'),
        users: await read('users'),
        policies: await read('policies'),
      });
    });
  }
}
