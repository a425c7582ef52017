// The join page at every meeting's joinWebUrl (`/l/meetup-join/{threadId}/{messageId}?context=…`,
// see domain/meeting-links.ts), and its small JSON endpoints in the same path family:
//   GET  …            the page (404 "this meeting link is not valid" for unknown or expired meetings)
//   GET  …/viewer     who a Bearer token signs in (the page shows it before joining)
//   POST …/join       {displayName} as a guest, or {} with a Bearer user token → an attendance interval
//   POST …/leave      {attendanceId} → closes it
// Times come from the server's (virtual) clock. State-changing calls from another origin are refused.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TokenVerifier } from '../../auth/token-verifier.js';
import { guestName, intervalView, joinMeeting, leaveMeeting } from '../../domain/attendance.js';
import type { Attendee, AttendanceRepository } from '../../domain/attendance-ports.js';
import type { Clock } from '../../domain/clock.js';
import { InvalidRequest } from '../../domain/errors.js';
import { findMeetingByJoinLink } from '../../domain/join-link.js';
import type { Admission } from '../../domain/lobby.js';
import type { Meeting } from '../../domain/meeting.js';
import type { DirectoryRepository, MeetingRepository } from '../../domain/ports.js';
import { bearerToken } from '../authenticate.js';
import { graphErrors } from '../graph-errors.js';
import { JOIN_PAGE_SCRIPT, JOIN_PAGE_STYLES } from '../join-page/assets.js';
import { JOIN_ASSETS_PATH, JOIN_SCRIPT_FILE, JOIN_STYLES_FILE, renderInvalidLinkPage, renderJoinPage } from '../join-page/view.js';
import { setPageSecurityHeaders } from '../page-security.js';
import { registerResource } from '../resource.js';

export interface JoinPageDeps {
  meetings: MeetingRepository;
  directory: DirectoryRepository;
  attendance: AttendanceRepository;
  clock: Clock;
  verifier: TokenVerifier;
  publicUrl: (request: FastifyRequest) => string;
}

export const JOIN_PATH = '/l/meetup-join';

const JOIN_BODY_LIMIT = 4 * 1024;

interface LinkParams {
  threadId: string;
  messageId: string;
}

/** Scripts and styles only from this server, nothing inline, no framing (page-security.ts). */
function sendHtml(reply: FastifyReply, status: number, page: string) {
  return setPageSecurityHeaders(reply).code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(page);
}

function sendJson(reply: FastifyReply, body: unknown) {
  return reply.code(200).header('cache-control', 'no-store').type('application/json; charset=utf-8').send(body);
}

/**
 * A browser tells where a request comes from (Sec-Fetch-Site, else Origin): joining and leaving
 * are only accepted from this server's own pages. Clients that are not browsers send neither.
 */
function refuseCrossOrigin(request: FastifyRequest) {
  const site = request.headers['sec-fetch-site'];
  const origin = request.headers.origin;
  let sameOrigin = true;
  if (typeof site === 'string') sameOrigin = site === 'same-origin';
  else if (typeof origin === 'string') {
    try {
      sameOrigin = new URL(origin).host === request.host;
    } catch {
      sameOrigin = false;
    }
  }
  if (!sameOrigin) throw graphErrors.forbidden('Joining and leaving are accepted only from the join page itself (same origin).');
}

const ADMISSION_MESSAGES: Record<Admission, string> = {
  inMeeting: 'You are in the meeting.',
  lobby: 'You are waiting in the lobby. Someone in the meeting will let you in soon.',
};

export function registerJoinPageRoutes(app: FastifyInstance, deps: JoinPageDeps) {
  const assetsBase = (request: FastifyRequest) => new URL(deps.publicUrl(request)).pathname.replace(/\/+$/, '') + JOIN_ASSETS_PATH;
  const meetingOf = (request: FastifyRequest): Promise<Meeting | undefined> => {
    const { threadId, messageId } = request.params as LinkParams;
    const context = (request.query as Record<string, unknown>).context;
    return findMeetingByJoinLink(deps.meetings, { threadId, messageId, context }, deps.clock.now());
  };
  const liveMeeting = async (request: FastifyRequest): Promise<Meeting> => {
    const meeting = await meetingOf(request);
    if (!meeting) throw graphErrors.notFound('This meeting link is not valid: the meeting does not exist or has expired.');
    return meeting;
  };

  /** The user a Bearer token names (verified as for the API), or undefined without an Authorization header. */
  const signedIn = async (request: FastifyRequest): Promise<Attendee | undefined> => {
    if (request.headers.authorization === undefined) return undefined;
    const principal = await deps.verifier.verify(bearerToken(request));
    if (principal.kind !== 'delegated') throw graphErrors.forbidden('Only users join meetings: use a delegated (user) token, not an application token.');
    const known = await deps.directory.findUser(principal.tenantId, principal.userId);
    const emailAddress = known?.userPrincipalName ?? principal.userPrincipalName;
    return {
      kind: 'user',
      tenantId: principal.tenantId,
      userId: principal.userId,
      displayName: known?.displayName ?? principal.displayName ?? emailAddress,
      emailAddress,
    };
  };

  const link = `${JOIN_PATH}/:threadId/:messageId`;
  registerResource(app, link, {
    GET: {
      handler: async (request, reply) => {
        const meeting = await meetingOf(request);
        if (!meeting) return sendHtml(reply, 404, renderInvalidLinkPage(assetsBase(request)));
        return sendHtml(reply, 200, renderJoinPage(meeting, assetsBase(request)));
      },
    },
  });
  registerResource(app, `${link}/viewer`, {
    GET: {
      handler: async (request, reply) => {
        await liveMeeting(request);
        const viewer = await signedIn(request);
        if (!viewer || viewer.kind !== 'user') throw graphErrors.badRequest('Send the user token as Authorization: Bearer <token>.');
        return sendJson(reply, { displayName: viewer.displayName, emailAddress: viewer.emailAddress, tenantId: viewer.tenantId, userId: viewer.userId });
      },
    },
  });
  /** A state change on a live meeting: same-origin only, a small JSON body, a JSON answer. */
  const action = (name: string, act: (request: FastifyRequest, meeting: Meeting, body: Record<string, unknown>) => Promise<unknown>) =>
    registerResource(app, `${link}/${name}`, {
      POST: {
        bodyLimit: JOIN_BODY_LIMIT,
        handler: async (request, reply) => {
          refuseCrossOrigin(request);
          const meeting = await liveMeeting(request);
          return sendJson(reply, await act(request, meeting, (request.body ?? {}) as Record<string, unknown>));
        },
      },
    });

  action('join', async (request, meeting, body) => {
    const attendee: Attendee = (await signedIn(request)) ?? { kind: 'guest', displayName: guestName(body.displayName) };
    const { interval, admission } = await joinMeeting(deps, meeting, attendee);
    return {
      attendanceId: interval.id,
      displayName: attendee.displayName,
      role: interval.role,
      admission,
      joinDateTime: interval.joinDateTime,
      message: `${ADMISSION_MESSAGES[admission]} You joined as ${attendee.displayName ?? 'a signed-in user'} (${interval.role.toLowerCase()}).`,
    };
  });
  action('leave', async (_request, meeting, { attendanceId }) => {
    if (typeof attendanceId !== 'string') throw new InvalidRequest("Name the attendance to close in 'attendanceId'.");
    const interval = await leaveMeeting(deps, meeting, attendanceId);
    if (!interval) throw graphErrors.notFound(`This meeting has no attendance '${attendanceId.slice(0, 64)}'.`);
    const seconds = intervalView(interval).durationInSeconds;
    return {
      attendanceId: interval.id,
      joinDateTime: interval.joinDateTime,
      leaveDateTime: interval.leaveDateTime,
      message: `You left the meeting after ${seconds} ${seconds === 1 ? 'second' : 'seconds'}.`,
    };
  });
  // Anything else below the join path is not a meeting link either.
  app.all(`${JOIN_PATH}/*`, async (request, reply) => {
    if (request.method === 'GET' || request.method === 'HEAD') return sendHtml(reply, 404, renderInvalidLinkPage(assetsBase(request)));
    throw graphErrors.notFound('This meeting link is not valid.');
  });

  const assets: Record<string, { body: string; type: string }> = {
    [JOIN_SCRIPT_FILE]: { body: JOIN_PAGE_SCRIPT, type: 'text/javascript; charset=utf-8' },
    [JOIN_STYLES_FILE]: { body: JOIN_PAGE_STYLES, type: 'text/css; charset=utf-8' },
  };
  for (const [file, asset] of Object.entries(assets)) {
    app.get(`${JOIN_ASSETS_PATH}/${file}`, async (_request, reply) =>
      reply.type(asset.type).header('x-content-type-options', 'nosniff').header('cache-control', 'no-cache').send(asset.body),
    );
  }
}
