// The onlineMeetings routes of both API versions under every owner segment (spec §2).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authorizer, Owner } from '../../auth/authorize.js';
import type { Operation } from '../../auth/permissions.js';
import type { TokenVerifier } from '../../auth/token-verifier.js';
import { type CreateOrGetBody, createOrGetMeeting, type MeetingDeps } from '../../domain/create-or-get.js';
import type { DirectoryUser } from '../../domain/directory.js';
import { InvalidRequest } from '../../domain/errors.js';
import type { Meeting } from '../../domain/meeting.js';
import { findMeeting, readMeetingAs } from '../../domain/read-meeting.js';
import { authenticate } from '../authenticate.js';
import { type ApiVersion, odataContext, sendOData, wantsUnknownEnumMembers } from '../odata.js';
import { type MethodRoute, registerResource } from '../resource.js';
import { createOrGetBodySchema } from '../schemas/create-or-get.js';
import { serializeMeeting } from '../serialize-meeting.js';

export interface OnlineMeetingRoutesDeps {
  meetings: MeetingDeps;
  verifier: TokenVerifier;
  authorizer: Authorizer;
  publicUrl: (request: FastifyRequest) => string;
}

interface OwnerSegment {
  path: string;
  /** Users' meetings are addressed as users('{id}') in @odata.context; the others by their singleton. */
  entitySet?: string;
  versions: readonly ApiVersion[];
  owner: (params: Record<string, string>) => Owner;
}

const OWNER_SEGMENTS: readonly OwnerSegment[] = [
  { path: '/me', versions: ['v1.0', 'beta'], owner: () => ({ kind: 'me' }) },
  { path: '/users/:userId', versions: ['v1.0', 'beta'], owner: (p) => ({ kind: 'user', ref: p.userId! }) },
  {
    path: '/communications',
    entitySet: 'communications/onlineMeetings',
    versions: ['v1.0', 'beta'],
    owner: () => ({ kind: 'communications' }),
  },
  // The deprecated beta singleton that /communications replaced (spec §2.2).
  { path: '/app', entitySet: 'app/onlineMeetings', versions: ['beta'], owner: () => ({ kind: 'app' }) },
];

const CREATE_OR_GET_ACTIONS = ['createOrGet', 'microsoft.graph.createOrGet'];

export function registerOnlineMeetingRoutes(app: FastifyInstance, deps: OnlineMeetingRoutesDeps) {
  for (const segment of OWNER_SEGMENTS) {
    for (const version of segment.versions) {
      const base = `/${version}${segment.path}/onlineMeetings`;
      const guarded = (operation: Operation, route: MethodRoute): MethodRoute => ({
        ...route,
        onRequest: authenticate(deps.verifier, deps.authorizer, operation, (request) =>
          segment.owner(request.params as Record<string, string>),
        ),
      });
      const handlers = new MeetingHandlers(deps, version, segment);
      for (const action of CREATE_OR_GET_ACTIONS) {
        registerResource(app, `${base}/${action}`, {
          POST: guarded('createOrGet', {
            schema: { body: createOrGetBodySchema },
            handler: (request, reply) => handlers.createOrGet(request, reply),
          }),
        });
      }
      registerResource(app, `${base}/:meetingId`, {
        GET: guarded('read', { handler: (request, reply) => handlers.get(request, reply) }),
      });
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
    const organizer = await this.organizerOf(request, body);
    const { meeting, created } = await createOrGetMeeting(this.deps.meetings, organizer, body, this.deps.publicUrl(request));
    return this.send(request, reply, created ? 201 : 200, meeting);
  }

  async get(request: FastifyRequest, reply: FastifyReply) {
    const { meetingId } = request.params as { meetingId: string };
    const { principal, user } = request.caller!;
    let meeting: Meeting;
    if (user) {
      meeting = await readMeetingAs(this.deps.meetings.meetings, user, meetingId, this.deps.meetings.clock.now());
    } else {
      // An application on /communications reads any meeting its access policy covers.
      meeting = await findMeeting(this.deps.meetings.meetings, principal.tenantId, meetingId, this.deps.meetings.clock.now());
      if (principal.kind === 'application') await this.deps.authorizer.requireAccessPolicy(principal, meeting.organizerId);
    }
    return this.send(request, reply, 200, meeting);
  }

  /**
   * The path's user, or, for an application on /communications or /app, the organizer it names
   * in the body (subject to the same access policy as /users/{id}).
   */
  private async organizerOf(request: FastifyRequest, body: CreateOrGetBody): Promise<DirectoryUser> {
    const { principal, user } = request.caller!;
    if (user) return user;
    const organizerId = body.participants?.organizer?.identity?.user?.id;
    if (!organizerId) {
      throw new InvalidRequest(
        "An application must name the organizer in 'participants.organizer.identity.user.id'.",
      );
    }
    if (principal.kind !== 'application') throw new Error('delegated caller without a user');
    return this.deps.authorizer.actFor(principal, organizerId);
  }

  private send(request: FastifyRequest, reply: FastifyReply, status: number, meeting: Meeting) {
    const entitySet = this.segment.entitySet ?? `users('${request.caller!.user!.id}')/onlineMeetings`;
    const body = serializeMeeting(meeting, {
      version: this.version,
      context: odataContext(this.deps.publicUrl(request), this.version, `${entitySet}/$entity`),
      includeUnknownEnumMembers: wantsUnknownEnumMembers(request.headers.prefer),
    });
    return sendOData(reply, status, body);
  }
}
