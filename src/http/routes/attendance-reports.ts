// Attendance reports through Graph (v1.0 and beta, /me and /users/{id}):
//   GET …/onlineMeetings/{id}/attendanceReports                                  meetingAttendanceReport collection
//   GET …/onlineMeetings/{id}/attendanceReports/{reportId}[?$expand=attendanceRecords]
//   GET …/onlineMeetings/{id}/attendanceReports/{reportId}/attendanceRecords     attendanceRecord collection
// Same path owners and meeting visibility as reading the meeting; Graph's permission for meeting
// artifacts (OnlineMeetingArtifact.Read.All); only the organizer and co-organizers. The report is
// what the join page recorded, once the meeting's end has passed on the server's clock.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Authorizer } from '../../auth/authorize.js';
import {
  type AttendanceRecord,
  type AttendanceReport,
  attendanceReports,
  mayReadAttendance,
} from '../../domain/attendance.js';
import type { AttendanceRepository } from '../../domain/attendance-ports.js';
import type { MeetingDeps } from '../../domain/create-or-get.js';
import { authenticate, authenticateToken, type RequestGate } from '../authenticate.js';
import { graphErrors } from '../graph-errors.js';
import { type ApiVersion, odataContext, sendOData } from '../odata.js';
import { applySelect, type Query, rejectCollectionOptions, selectedSet } from '../odata-query.js';
import { OWNER_SEGMENTS, visibleMeeting } from './online-meetings.js';

export interface AttendanceReportRoutesDeps {
  meetings: Pick<MeetingDeps, 'meetings' | 'clock'>;
  attendance: AttendanceRepository;
  gate: RequestGate;
  authorizer: Authorizer;
  publicUrl: (request: FastifyRequest) => string;
}

interface Params {
  meetingId: string;
  reportId?: string;
}

const REPORT_PROPERTIES = ['id', 'totalParticipantCount', 'meetingStartDateTime', 'meetingEndDateTime', 'attendanceRecords'];
const RECORD_PROPERTIES: Record<ApiVersion, string[]> = {
  'v1.0': ['id', 'emailAddress', 'identity', 'role', 'totalAttendanceInSeconds', 'attendanceIntervals'],
  beta: ['id', 'emailAddress', 'identity', 'role', 'registrantId', 'totalAttendanceInSeconds', 'attendanceIntervals'],
};
// Collection options Graph offers here that this server does not evaluate: an honest 501, not a wrong answer.
const UNSUPPORTED_COLLECTION_OPTIONS = ['filter', 'orderby', 'search', 'top', 'skip', 'count'];

/** A system query option by name, `$` optional and case-insensitive (as Graph reads them). */
function queryOption(query: Query, name: string): string | undefined {
  for (const [key, value] of Object.entries(query)) {
    if (key.replace(/^\$/, '').toLowerCase() === name) return Array.isArray(value) ? value.join(',') : value;
  }
  return undefined;
}

function names(raw: string | undefined): string[] {
  return (raw ?? '').split(',').map((n) => n.trim()).filter(Boolean);
}

function propertyOf(name: string, declared: readonly string[], type: string): string {
  const canonical = declared.find((p) => p.toLowerCase() === name.toLowerCase());
  if (!canonical) {
    throw graphErrors.badRequest(`The query specified in the URI is not valid. Could not find a property named '${name}' on type 'microsoft.graph.${type}'.`);
  }
  return canonical;
}

interface ReadOptions {
  select: string[] | undefined;
  expandRecords: boolean;
}

interface Shape {
  type: string;
  declared: readonly string[];
  /** The one navigation property that $expand accepts, if any. */
  expandable?: string;
}

const REPORT: Shape = { type: 'meetingAttendanceReport', declared: REPORT_PROPERTIES, expandable: 'attendanceRecords' };
const RECORD: Record<ApiVersion, Shape> = {
  'v1.0': { type: 'attendanceRecord', declared: RECORD_PROPERTIES['v1.0'] },
  beta: { type: 'attendanceRecord', declared: RECORD_PROPERTIES.beta },
};

function readOptions(query: Query, { type, declared, expandable }: Shape, collection: boolean): ReadOptions {
  if (collection) {
    const unsupported = UNSUPPORTED_COLLECTION_OPTIONS.find((name) => queryOption(query, name) !== undefined);
    if (unsupported) throw graphErrors.notImplemented(`The query option '$${unsupported}' is not supported on this collection by this server.`);
  } else {
    rejectCollectionOptions(query);
  }
  const selected = names(queryOption(query, 'select'));
  const select = selected.length === 0 || selected.includes('*') ? undefined : [...new Set(selected.map((n) => propertyOf(n, declared, type)))];
  const expanded = names(queryOption(query, 'expand'));
  const wrong = expanded.find((n) => n.toLowerCase() !== expandable?.toLowerCase());
  if (wrong !== undefined) {
    throw graphErrors.badRequest(`The query specified in the URI is not valid. Could not find a navigation property named '${wrong}' on type 'microsoft.graph.${type}'.`);
  }
  return { select, expandRecords: expanded.length > 0 };
}

const notImplemented = async () => {
  throw graphErrors.notImplemented('This part of the onlineMeetings resource is not implemented by this server.');
};

/** An OData key literal: single quotes doubled. */
const key = (value: string) => `'${value.replace(/'/g, "''")}'`;

function recordJson(record: AttendanceRecord, version: ApiVersion) {
  return {
    id: record.id,
    emailAddress: record.emailAddress,
    identity: record.identity,
    role: record.role,
    ...(version === 'beta' ? { registrantId: null } : {}),
    totalAttendanceInSeconds: record.totalAttendanceInSeconds,
    attendanceIntervals: record.attendanceIntervals,
  };
}

/** `attendanceRecords` is a navigation property: in a collection Graph shows it empty, on one report only when expanded. */
function reportJson(report: AttendanceReport, version: ApiVersion, records: 'expanded' | 'empty' | 'absent') {
  return {
    id: report.id,
    totalParticipantCount: report.totalParticipantCount,
    meetingStartDateTime: report.meetingStartDateTime,
    meetingEndDateTime: report.meetingEndDateTime,
    ...(records === 'absent' ? {} : { attendanceRecords: records === 'expanded' ? report.attendanceRecords.map((r) => recordJson(r, version)) : [] }),
  };
}

export function registerAttendanceReportRoutes(app: FastifyInstance, deps: AttendanceReportRoutesDeps) {
  // Graph documents attendance reports for users' meetings only; /communications stays on the 501 list.
  for (const segment of OWNER_SEGMENTS.filter((s) => s.entitySet === undefined)) {
    for (const version of segment.versions) {
      const base = `/${version}${segment.path}/onlineMeetings/:meetingId/attendanceReports`;
      const onRequest = authenticate(deps.gate, deps.authorizer, 'readAttendance', (request) =>
        segment.owner(request.params as Record<string, string>),
      );

      /** The meeting's reports as the caller may read them, and the context path of the collection. */
      const reportsOf = async (request: FastifyRequest) => {
        const caller = request.caller!;
        const user = caller.user!;
        const meeting = await visibleMeeting(deps.meetings, caller, (request.params as Params).meetingId);
        if (!mayReadAttendance(meeting, user)) {
          throw graphErrors.forbidden("Only the meeting's organizer and co-organizers can read its attendance reports.");
        }
        const intervals = await deps.attendance.listIntervals(meeting.tenantId, meeting.properties.id);
        const reports = attendanceReports(meeting, intervals, deps.meetings.clock.now());
        const path = `users(${key(user.id)})/onlineMeetings(${key(meeting.properties.id)})/attendanceReports`;
        return { reports, path };
      };
      const oneReport = async (request: FastifyRequest) => {
        const { reports, path } = await reportsOf(request);
        const reportId = (request.params as Params).reportId!;
        const report = reports.find((r) => r.id === reportId.toLowerCase());
        if (!report) throw graphErrors.notFound(`The attendance report '${reportId.slice(0, 64)}' was not found.`);
        return { report, path };
      };
      const context = (request: FastifyRequest, path: string) => odataContext(deps.publicUrl(request), version, path);

      /** GET as implemented; the other methods the OpenAPI lists (create, update, delete) stay 501 as before. */
      const readOnly = (url: string, handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>) => {
        app.route({ method: 'GET', url, onRequest, handler });
        app.route({ method: ['POST', 'PATCH', 'PUT', 'DELETE', 'OPTIONS'], url, onRequest: authenticateToken(deps.gate), handler: notImplemented });
      };

      readOnly(base, async (request, reply) => {
        const options = readOptions(request.query as Query, REPORT, true);
        const { reports, path } = await reportsOf(request);
        return sendOData(reply, 200, {
          '@odata.context': context(request, selectedSet(path, options.select)),
          value: reports.map((r) => applySelect(reportJson(r, version, options.expandRecords ? 'expanded' : 'empty'), options.select)),
        });
      });
      readOnly(`${base}/:reportId`, async (request, reply) => {
        const options = readOptions(request.query as Query, REPORT, false);
        const { report, path } = await oneReport(request);
        return sendOData(reply, 200, {
          '@odata.context': context(request, `${selectedSet(path, options.select)}/$entity`),
          ...applySelect(reportJson(report, version, options.expandRecords ? 'expanded' : 'absent'), options.select),
        });
      });
      readOnly(`${base}/:reportId/attendanceRecords`, async (request, reply) => {
        const options = readOptions(request.query as Query, RECORD[version], true);
        const { report, path } = await oneReport(request);
        return sendOData(reply, 200, {
          '@odata.context': context(request, selectedSet(`${path}(${key(report.id)})/attendanceRecords`, options.select)),
          value: report.attendanceRecords.map((r) => applySelect(recordJson(r, version), options.select)),
        });
      });
      // $count segments are more specific than a report id: not evaluated here, as before.
      for (const count of [`${base}/$count`, `${base}/:reportId/attendanceRecords/$count`]) {
        app.all(count, { onRequest: authenticateToken(deps.gate) }, notImplemented);
      }
    }
  }
}
