// Graph's schemas applied to the bodies of the onlineMeetings methods: a meeting, a lookup collection
// and an error, each per API version (see openapi.ts for how the schemas are read).
import assert from 'node:assert/strict';
import { type ApiVersion, assertGraphBody, type GraphBodyOptions, openApiErrors, stripAnnotations } from './openapi.js';

export const ONLINE_MEETING = 'microsoft.graph.onlineMeeting';
const COLLECTION = 'microsoft.graph.onlineMeetingCollectionResponse';
const ODATA_ERROR = 'microsoft.graph.ODataErrors.ODataError';

// Seed-era names the server adds on beta for older clients (serialize-meeting.ts; spec §1.1, §6).
// Neither the 2024 beta OpenAPI nor the 2026 beta type mappings declare them.
const DATE_TIME = { type: 'string', format: 'date-time' };
export const BETA_LEGACY = Object.fromEntries(
  Object.entries({
    accessLevel: { enum: ['everyone', 'invited', 'locked', 'sameEnterprise', 'sameEnterpriseAndFederated'] },
    autoAdmittedUsers: {
      enum: ['everyone', 'everyoneInSameAndFederatedCompany', 'everyoneInCompany', 'invitedUsersInCompany', 'organizer'],
    },
    entryExitAnnouncement: { type: 'boolean' },
    expirationDateTime: DATE_TIME,
    isCancelled: { type: 'boolean' },
    canceledDateTime: { type: ['string', 'null'], format: 'date-time' },
  }).map(([name, schema]) => [`${ONLINE_MEETING}#${name}`, schema]),
);

/** Options for assertGraphBody on an onlineMeeting body (or, with `type`, another schema) of `version`. */
export const meetingSchema = (version: ApiVersion, extra: Partial<GraphBodyOptions> = {}): GraphBodyOptions => ({
  version,
  type: ONLINE_MEETING,
  ...(version === 'beta' ? { allowDynamic: BETA_LEGACY } : {}),
  ...extra,
});

/** The API version a request path starts with. */
export function versionOf(path: string): ApiVersion {
  return /^\/beta\//i.test(path) ? 'beta' : 'v1.0';
}

/**
 * Validates any body an onlineMeetings method answered with: a lookup collection, a Graph error
 * (Ajv only: innerError is a free-form object in the OpenAPI) or a meeting.
 */
export function assertOnlineMeetingsBody(body: unknown, version: ApiVersion, options: { includeUnknownEnumMembers?: boolean; label?: string } = {}) {
  const label = options.label ?? '';
  const extra = options.includeUnknownEnumMembers ? { includeUnknownEnumMembers: true } : {};
  const record = body as Record<string, unknown>;
  if (record && typeof record === 'object' && 'error' in record) {
    assert.deepEqual(openApiErrors(stripAnnotations(body), version, ODATA_ERROR), [], `${label}: error body violates ${ODATA_ERROR}`);
  } else if (record && typeof record === 'object' && 'value' in record) {
    assertGraphBody(body, meetingSchema(version, { type: COLLECTION, ...extra }), label);
  } else {
    assertGraphBody(body, meetingSchema(version, extra), label);
  }
}
