// GET /__admin/meetings: meetings across tenants for the web console, found by a search text
// (subject, externalId, organizer, join URL) and exact filters, newest first, at most `top`.
import type { FastifyInstance } from 'fastify';
import { type BrowsedMeeting, MAX_BROWSE_TOP, type MeetingSearch } from '../../../control/browse-ports.js';
import { expiryCutoff } from '../../../domain/expiry.js';
import type { MeetingProperties } from '../../../domain/meeting.js';
import { graphErrors } from '../../graph-errors.js';
import { registerResource } from '../../resource.js';
import type { AdminDeps } from './index.js';

export const DEFAULT_BROWSE_TOP = 50;
const MAX_TEXT_LENGTH = 2048;
const TEXT_PARAMETERS = { search: 'search', tenant: 'tenantId', organizer: 'organizer', externalId: 'externalId', joinWebUrl: 'joinWebUrl' } as const;
const PARAMETERS = [...Object.keys(TEXT_PARAMETERS), 'top'];

function searchOf(query: Record<string, unknown>): MeetingSearch {
  const search: MeetingSearch = { top: DEFAULT_BROWSE_TOP };
  for (const [name, value] of Object.entries(query)) {
    if (!PARAMETERS.includes(name)) {
      throw graphErrors.badRequest(`Unknown query parameter '${name}'; the parameters are ${PARAMETERS.join(', ')}.`);
    }
    if (typeof value !== 'string') throw graphErrors.badRequest(`The query parameter '${name}' may be given once.`);
    const text = value.trim();
    if (text === '') continue;
    if (text.length > MAX_TEXT_LENGTH) throw graphErrors.badRequest(`The query parameter '${name}' is longer than ${MAX_TEXT_LENGTH} characters.`);
    if (name === 'top') {
      if (!/^\d{1,4}$/.test(text) || Number(text) < 1 || Number(text) > MAX_BROWSE_TOP) {
        throw graphErrors.badRequest(`Invalid value for 'top': '${text}' is not a whole number from 1 to ${MAX_BROWSE_TOP}.`);
      }
      search.top = Number(text);
    } else search[TEXT_PARAMETERS[name as keyof typeof TEXT_PARAMETERS]] = text;
  }
  return search;
}

function listed(found: BrowsedMeeting, cutoff: string) {
  const meeting = JSON.parse(found.properties) as MeetingProperties;
  return {
    tenantId: found.tenantId,
    organizerId: found.organizerId,
    organizerUserPrincipalName: found.organizerUpn ?? meeting.participants?.organizer?.upn ?? null,
    organizerDisplayName: found.organizerDisplayName ?? meeting.participants?.organizer?.identity?.user?.displayName ?? null,
    id: meeting.id,
    externalId: meeting.externalId,
    subject: meeting.subject,
    joinWebUrl: meeting.joinWebUrl,
    startDateTime: meeting.startDateTime,
    endDateTime: meeting.endDateTime,
    expiryDateTime: meeting.expiryDateTime,
    /** On the server's (virtual) clock. */
    expired: meeting.expiryDateTime <= cutoff,
    meeting,
  };
}

export function registerMeetingRoutes(admin: FastifyInstance, deps: AdminDeps) {
  const { store, clock } = deps;
  registerResource(admin, '/meetings', {
    GET: {
      handler: async (request) => {
        const found = await store.browse.searchMeetings(searchOf(request.query as Record<string, unknown>));
        const cutoff = expiryCutoff(clock.now());
        return { value: found.map((meeting) => listed(meeting, cutoff)) };
      },
    },
  });
}
