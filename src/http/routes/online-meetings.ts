// The onlineMeetings routes of both API versions under every owner segment (spec §2, §5).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authorizer, Caller, Owner } from '../../auth/authorize.js';
import { InsufficientPrivileges } from '../../auth/errors.js';
import type { Operation } from '../../auth/permissions.js';
import { createMeeting, type CreateMeetingBody } from '../../domain/create-meeting.js';
import { type CreateOrGetBody, createOrGetMeeting, type MeetingDeps } from '../../domain/create-or-get.js';
import type { DirectoryUser } from '../../domain/directory.js';
import { InvalidRequest, MeetingNotFound } from '../../domain/errors.js';
import { isExpired } from '../../domain/expiry.js';
import { deleteMeeting, lookupMeetings } from '../../domain/lookup-meetings.js';
import type { Meeting } from '../../domain/meeting.js';
import { findMeeting, isVisibleTo, readMeetingAs } from '../../domain/read-meeting.js';
import { type MeetingPatch, updateMeeting } from '../../domain/update-meeting.js';
import { authenticate, authenticateToken, type RequestGate } from '../authenticate.js';
import { graphErrors } from '../graph-errors.js';
import { type ApiVersion, odataContext, sendOData, wantsUnknownEnumMembers } from '../odata.js';
import { meetingKey } from '../odata-path.js';
import {
  applySelect,
  type LookupProperty,
  parseLookupFilter,
  parseSelect,
  type Query,
  rejectCollectionOptions,
  selectedSet,
} from '../odata-query.js';
import { type MethodRoute, registerResource } from '../resource.js';
import { createOrGetBodySchema } from '../schemas/create-or-get.js';
import { createMeetingBodySchema, meetingPatchSchema } from '../schemas/meeting-body.js';
import { serializeMeeting, serializeMeetingBody } from '../serialize-meeting.js';

export interface OnlineMeetingRoutesDeps {
  meetings: MeetingDeps;
  gate: RequestGate;
  authorizer: Authorizer;
  publicUrl: (request: FastifyRequest) => string;
}

export interface OwnerSegment {
  path: string;
  versions: readonly ApiVersion[];
  owner: (params: Record<string, string>) => Owner;
  /** Users' meetings are addressed as users('{id}') in @odata.context; the others by their singleton. */
  entitySet?: string;
  /** The one `$filter` lookup each kind of owner offers (spec §5.3). */
  lookups: readonly LookupProperty[];
}

const USER_LOOKUPS: readonly LookupProperty[] = ['joinWebUrl', 'joinMeetingId'];

export const OWNER_SEGMENTS: readonly OwnerSegment[] = [
  { path: '/me', versions: ['v1.0', 'beta'], owner: () => ({ kind: 'me' }), lookups: USER_LOOKUPS },
  {
    path: '/users/:userId',
    versions: ['v1.0', 'beta'],
    owner: (p) => ({ kind: 'user', ref: p.userId! }),
    lookups: USER_LOOKUPS,
  },
  {
    path: '/communications',
    versions: ['v1.0', 'beta'],
    owner: () => ({ kind: 'communications' }),
    entitySet: 'communications/onlineMeetings',
    lookups: ['videoTeleconferenceId'],
  },
  // The deprecated beta singleton that /communications replaced (spec §2.2).
  {
    path: '/app',
    versions: ['beta'],
    owner: () => ({ kind: 'app' }),
    entitySet: 'app/onlineMeetings',
    lookups: ['videoTeleconferenceId'],
  },
];

const CREATE_OR_GET_ACTIONS = ['createOrGet', 'microsoft.graph.createOrGet'];
// Paths of the resource this server does not implement (recordings, transcripts…): 501, not 404.
// The more specific routes of what is implemented below a meeting (attendance-reports.ts) win over '/:meetingId/*'.
const NOT_IMPLEMENTED = [
  '/:meetingId/*',
  '/$count',
  '/getAllRecordings',
  '/microsoft.graph.getAllRecordings',
  '/getAllTranscripts',
  '/microsoft.graph.getAllTranscripts',
];

export function registerOnlineMeetingRoutes(app: FastifyInstance, deps: OnlineMeetingRoutesDeps) {
  for (const segment of OWNER_SEGMENTS) {
    for (const version of segment.versions) {
      const base = `/${version}${segment.path}/onlineMeetings`;
      const handlers = new MeetingHandlers(deps, version, segment);
      const guarded = (operation: Operation, route: MethodRoute): MethodRoute => ({
        ...route,
        onRequest: authenticate(deps.gate, deps.authorizer, operation, (request) =>
          segment.owner(request.params as Record<string, string>),
        ),
      });
      registerResource(app, base, {
        GET: guarded('read', { handler: (req, reply) => handlers.lookup(req, reply) }),
        POST: guarded('create', {
          schema: { body: createMeetingBodySchema },
          handler: (req, reply) => handlers.create(req, reply),
        }),
      });
      for (const action of CREATE_OR_GET_ACTIONS) {
        registerResource(app, `${base}/${action}`, {
          POST: guarded('createOrGet', {
            schema: { body: createOrGetBodySchema },
            handler: (req, reply) => handlers.createOrGet(req, reply),
          }),
        });
      }
      registerResource(app, `${base}/:meetingId`, {
        GET: guarded('read', { handler: (req, reply) => handlers.get(req, reply) }),
        PATCH: guarded('update', { schema: { body: meetingPatchSchema }, handler: (req, reply) => handlers.update(req, reply) }),
        DELETE: guarded('delete', { handler: (req, reply) => handlers.delete(req, reply) }),
      });
      for (const path of NOT_IMPLEMENTED) {
        // Like every API path, these need a valid token first; then they say what they are.
        app.all(`${base}${path}`, { onRequest: authenticateToken(deps.gate) }, async () => {
          throw graphErrors.notImplemented('This part of the onlineMeetings resource is not implemented by this server.');
        });
      }
    }
  }
}

class MeetingHandlers {
  constructor(
    private readonly deps: OnlineMeetingRoutesDeps,
    private readonly version: ApiVersion,
    private readonly segment: OwnerSegment,
  ) {}

  async createOrGet(request: FastifyRequest, reply: FastifyReply) {
    const body = request.body as CreateOrGetBody;
    const select = parseSelect(request.query as Query, this.version);
    const organizer = await this.organizerOf(request, body);
    const { meeting, created } = await createOrGetMeeting(this.deps.meetings, organizer, body, this.deps.publicUrl(request));
    return this.sendMeeting(request, reply, created ? 201 : 200, meeting, select);
  }

  async create(request: FastifyRequest, reply: FastifyReply) {
    const body = request.body as CreateMeetingBody;
    const select = parseSelect(request.query as Query, this.version);
    const organizer = await this.organizerOf(request, body);
    const meeting = await createMeeting(this.deps.meetings, organizer, body, this.deps.publicUrl(request));
    return this.sendMeeting(request, reply, 201, meeting, select);
  }

  async get(request: FastifyRequest, reply: FastifyReply) {
    const query = request.query as Query;
    rejectCollectionOptions(query);
    const select = parseSelect(query, this.version);
    const { meeting } = await this.target(request);
    return this.sendMeeting(request, reply, 200, meeting, select);
  }

  async update(request: FastifyRequest, reply: FastifyReply) {
    const { meeting, actor } = await this.target(request);
    const updated = await updateMeeting(this.deps.meetings, await actor(), meeting.properties.id, request.body as MeetingPatch);
    return this.sendMeeting(request, reply, 200, updated);
  }

  async delete(request: FastifyRequest, reply: FastifyReply) {
    const { meeting, actor } = await this.target(request);
    await deleteMeeting(this.deps.meetings, await actor(), meeting.properties.id);
    return reply.code(204).send();
  }

  /** GET …/onlineMeetings?$filter=…: a collection of the (at most one) matching meeting. */
  async lookup(request: FastifyRequest, reply: FastifyReply) {
    const query = request.query as Query;
    const lookups = parseLookupFilter(query, this.segment.lookups);
    const select = parseSelect(query, this.version);
    const { principal, user } = request.caller!;
    const organizer = this.segment.entitySet ? undefined : user;
    // The video-conferencing lookup is for applications only, and not gated by access policies.
    if (this.segment.entitySet && principal.kind !== 'application') {
      throw new InsufficientPrivileges('This lookup is only available with application permissions.');
    }
    let found: Meeting[] = [];
    for (const lookup of lookups) {
      found = await lookupMeetings(this.deps.meetings, principal.tenantId, lookup, organizer);
      if (found.length > 0) break;
    }
    const includeUnknown = wantsUnknownEnumMembers(request.headers.prefer);
    return sendOData(reply, 200, {
      '@odata.context': this.context(request, selectedSet(this.entitySet(request), select)),
      value: found.map((m) =>
        applySelect(serializeMeeting(m, { version: this.version, includeUnknownEnumMembers: includeUnknown }), select),
      ),
    });
  }

  /**
   * The meeting a path names (by id, or on beta by join URL) as the caller may see it, and who
   * acts on it for changes: the path's user, or, for an application on /communications, the
   * meeting's organizer once the access policy allows it.
   */
  private async target(request: FastifyRequest): Promise<{ meeting: Meeting; actor: () => Promise<DirectoryUser> }> {
    const { principal, user } = request.caller!;
    const meeting = await visibleMeeting(this.deps.meetings, request.caller!, (request.params as { meetingId: string }).meetingId);
    if (user) return { meeting, actor: async () => user };
    if (principal.kind !== 'application') throw new Error('delegated caller without a user');
    const organizer = await this.deps.authorizer.actFor(principal, meeting.organizerId);
    return { meeting, actor: async () => organizer };
  }

  /**
   * The path's user, or, for an application on /communications or /app, the organizer it names
   * in the body (subject to the same access policy as /users/{id}).
   */
  private async organizerOf(request: FastifyRequest, body: CreateOrGetBody | CreateMeetingBody): Promise<DirectoryUser> {
    const { principal, user } = request.caller!;
    if (user) return user;
    const organizerId = body.participants?.organizer?.identity?.user?.id;
    if (!organizerId) {
      throw new InvalidRequest("An application must name the organizer in 'participants.organizer.identity.user.id'.");
    }
    if (principal.kind !== 'application') throw new Error('delegated caller without a user');
    return this.deps.authorizer.actFor(principal, organizerId);
  }

  private entitySet(request: FastifyRequest): string {
    return this.segment.entitySet ?? `users('${request.caller!.user!.id}')/onlineMeetings`;
  }

  private context(request: FastifyRequest, path: string): string {
    return odataContext(this.deps.publicUrl(request), this.version, path);
  }

  private sendMeeting(request: FastifyRequest, reply: FastifyReply, status: number, meeting: Meeting, select?: string[]) {
    const options = {
      version: this.version,
      context: this.context(request, `${selectedSet(this.entitySet(request), select)}/$entity`),
      includeUnknownEnumMembers: wantsUnknownEnumMembers(request.headers.prefer),
    };
    if (!select) return sendOData(reply, status, serializeMeetingBody(meeting, options));
    return sendOData(reply, status, applySelect(serializeMeeting(meeting, options), select));
  }
}

/** The meeting a `:meetingId` segment names (by id, or on beta by join URL) as the caller may see it; else MeetingNotFound. */
export async function visibleMeeting(deps: Pick<MeetingDeps, 'meetings' | 'clock'>, caller: Caller, segment: string): Promise<Meeting> {
  const { principal, user } = caller;
  const key = meetingKey(segment);
  const nowMs = deps.clock.now();
  let meeting: Meeting | undefined;
  if ('id' in key) {
    meeting = user
      ? await readMeetingAs(deps.meetings, user, key.id, nowMs)
      : await findMeeting(deps.meetings, principal.tenantId, key.id, nowMs);
  } else {
    const candidates = await deps.meetings.findMeetings(principal.tenantId, { joinWebUrl: key.joinWebUrl });
    meeting = candidates.find((m) => !isExpired(m, nowMs) && (!user || isVisibleTo(m, user)));
  }
  if (!meeting) throw new MeetingNotFound();
  return meeting;
}
