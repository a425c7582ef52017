// The console's read queries (control/browse-ports.ts), written once for both SQL engines: a dialect
// supplies what differs (placeholders, reading a member of the stored JSON, case folding).
import { type BrowsedMeeting, type DirectoryListing, MAX_DIRECTORY_ROWS, type MeetingSearch, type TenantAccessPolicy } from '../control/browse-ports.js';
import { normalizeId } from './rows.js';
import { policiesFromRows } from './snapshot-rows.js';

export interface SqlDialect {
  /** The placeholder of the n-th (1-based) value. */
  placeholder(n: number): string;
  /** A text member of the meeting's stored JSON (`m.properties`). */
  jsonText(member: string): string;
  /** Lower-cases a text expression the way JavaScript's toLowerCase does (Unicode). */
  lower(expression: string): string;
  /** True when the text expression contains the (already lower-cased) value. */
  contains(haystack: string, needle: string): string;
  /** Orders text by code point, as both engines must agree. */
  binary(expression: string): string;
}

export interface MeetingSearchRow {
  tenant_id: string;
  organizer_id: string;
  properties: string;
  upn: string | null;
  display_name: string | null;
}

export function meetingSearchSql(query: MeetingSearch, dialect: SqlDialect): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const bind = (value: unknown) => {
    values.push(value);
    return dialect.placeholder(values.length);
  };
  const where: string[] = [];
  if (query.tenantId !== undefined) where.push(`m.tenant_id = ${bind(normalizeId(query.tenantId))}`);
  if (query.organizer !== undefined) {
    where.push(`(m.organizer_id = ${bind(normalizeId(query.organizer))} OR u.upn_lower = ${bind(query.organizer.toLowerCase())})`);
  }
  if (query.externalId !== undefined) where.push(`m.external_id = ${bind(query.externalId)}`);
  if (query.joinWebUrl !== undefined) where.push(`m.join_web_url = ${bind(query.joinWebUrl)}`);
  if (query.search !== undefined) {
    const needle = query.search.toLowerCase();
    const searched = [
      dialect.lower(`COALESCE(${dialect.jsonText('subject')}, '')`),
      dialect.lower("COALESCE(m.external_id, '')"),
      dialect.lower('m.organizer_id'),
      "COALESCE(u.upn_lower, '')",
      dialect.lower('m.join_web_url'),
    ];
    where.push(`(${searched.map((column) => dialect.contains(column, bind(needle))).join(' OR ')})`);
  }
  const text = `SELECT m.tenant_id, m.organizer_id, m.properties, u.upn, u.display_name
    FROM meetings m LEFT JOIN users u ON u.tenant_id = m.tenant_id AND u.id = m.organizer_id
    ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY ${dialect.binary(dialect.jsonText('creationDateTime'))} DESC NULLS LAST, ${dialect.binary('m.id')} DESC
    LIMIT ${bind(query.top)}`;
  return { text, values };
}

export function browsedMeeting(row: MeetingSearchRow): BrowsedMeeting {
  return {
    tenantId: row.tenant_id,
    organizerId: row.organizer_id,
    organizerUpn: row.upn,
    organizerDisplayName: row.display_name,
    properties: row.properties,
  };
}

/** The directory's statements; none takes a value. One more row than shown tells of truncation. */
export function directorySql(dialect: SqlDialect) {
  return {
    tenants: 'SELECT id, display_name FROM tenants',
    userCounts: 'SELECT tenant_id, COUNT(*) AS n FROM users GROUP BY tenant_id',
    meetingCounts: 'SELECT tenant_id, COUNT(*) AS n FROM meetings GROUP BY tenant_id',
    users: `SELECT tenant_id, id, upn, display_name FROM users
            ORDER BY ${dialect.binary('tenant_id')}, ${dialect.binary('upn_lower')} NULLS LAST, ${dialect.binary('id')}
            LIMIT ${MAX_DIRECTORY_ROWS + 1}`,
    policies: `SELECT tenant_id, app_id, user_id FROM access_policies
               ORDER BY ${dialect.binary('tenant_id')}, ${dialect.binary('app_id')}, ${dialect.binary('user_id')}
               LIMIT ${MAX_DIRECTORY_ROWS + 1}`,
  };
}

export interface DirectoryRows {
  tenants: { id: string; display_name: string | null }[];
  userCounts: { tenant_id: string; n: number | string }[];
  meetingCounts: { tenant_id: string; n: number | string }[];
  users: { tenant_id: string; id: string; upn: string | null; display_name: string | null }[];
  policies: { tenant_id: string; app_id: string; user_id: string }[];
}

export function directoryListing(rows: DirectoryRows): DirectoryListing {
  const counts = (list: DirectoryRows['userCounts']) => new Map(list.map((row) => [row.tenant_id, Number(row.n)]));
  const users = counts(rows.userCounts);
  const meetings = counts(rows.meetingCounts);
  const names = new Map(rows.tenants.map((t) => [t.id, t.display_name]));
  // A tenant can hold meetings without a directory entry (a reset of its directory only).
  const ids = [...new Set([...names.keys(), ...meetings.keys()])].sort(byCodePoint);
  return {
    tenants: ids.map((id) => ({ id, displayName: names.get(id) ?? null, users: users.get(id) ?? 0, meetings: meetings.get(id) ?? 0 })),
    users: rows.users.slice(0, MAX_DIRECTORY_ROWS).map((u) => ({ tenantId: u.tenant_id, id: u.id, userPrincipalName: u.upn, displayName: u.display_name })),
    accessPolicies: accessPolicies(rows.policies.slice(0, MAX_DIRECTORY_ROWS)),
    truncated: rows.users.length > MAX_DIRECTORY_ROWS || rows.policies.length > MAX_DIRECTORY_ROWS,
  };
}

/** Grants grouped per tenant into policies (user '*' = tenant-wide), in the rows' order. */
function accessPolicies(rows: DirectoryRows['policies']): TenantAccessPolicy[] {
  const byTenant = new Map<string, DirectoryRows['policies']>();
  for (const row of rows) {
    const grants = byTenant.get(row.tenant_id);
    if (grants) grants.push(row);
    else byTenant.set(row.tenant_id, [row]);
  }
  return [...byTenant].flatMap(([tenantId, grants]) => policiesFromRows(grants).map((policy) => ({ tenantId, ...policy })));
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
