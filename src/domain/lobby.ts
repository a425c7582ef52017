// Who waits in the lobby and who presents, by the meeting's lobbyBypassSettings and allowedPresenters
// (Teams' rules): the organizer and co-organizers always join directly; anonymous guests only when
// everyone may bypass the lobby.
import type { Attendee, AttendanceRole } from './attendance-ports.js';
import type { Meeting, ParticipantInfo } from './meeting.js';

/** Where a joiner ends up: in the meeting, or waiting in the lobby to be admitted. */
export type Admission = 'inMeeting' | 'lobby';

/** How the meeting sees one joiner. */
interface Standing {
  organizer: boolean;
  /** Listed among the meeting's attendees (by object id or userPrincipalName). */
  invited: ParticipantInfo | undefined;
  /** A signed-in user of the organizer's tenant. */
  sameOrganization: boolean;
  /** A signed-in user of another tenant. */
  federated: boolean;
}

function standingOf(meeting: Meeting, attendee: Attendee): Standing {
  if (attendee.kind === 'guest') return { organizer: false, invited: undefined, sameOrganization: false, federated: false };
  const sameOrganization = attendee.tenantId === meeting.tenantId;
  const email = attendee.emailAddress?.toLowerCase();
  const invited = meeting.properties.participants.attendees.find(
    (a) => a.identity.user.id === attendee.userId || (email !== undefined && a.upn?.toLowerCase() === email),
  );
  return { organizer: sameOrganization && attendee.userId === meeting.organizerId, invited, sameOrganization, federated: !sameOrganization };
}

const isCoorganizer = (s: Standing) => s.invited?.role === 'coorganizer';

/** Whether the joiner goes straight into the meeting (lobbyBypassSettings.scope). */
export function admissionOf(meeting: Meeting, attendee: Attendee): Admission {
  const s = standingOf(meeting, attendee);
  if (s.organizer || isCoorganizer(s)) return 'inMeeting';
  const bypass = (() => {
    switch (meeting.properties.lobbyBypassSettings.scope) {
      case 'everyone':
        return true;
      case 'organizationAndFederated':
        return s.sameOrganization || s.federated;
      // Guest accounts are not modelled: every signed-in user of the tenant is a member.
      case 'organization':
      case 'organizationExcludingGuests':
        return s.sameOrganization;
      case 'invited':
        return s.invited !== undefined;
      // 'organizer', and values this server does not know: the strictest reading.
      default:
        return false;
    }
  })();
  return bypass ? 'inMeeting' : 'lobby';
}

/** The joiner's role in the attendance report (allowedPresenters). */
export function attendanceRoleOf(meeting: Meeting, attendee: Attendee): AttendanceRole {
  const s = standingOf(meeting, attendee);
  if (s.organizer) return 'Organizer';
  if (isCoorganizer(s)) return 'Presenter';
  switch (meeting.properties.allowedPresenters) {
    case 'everyone':
      return 'Presenter';
    case 'organization':
      return s.sameOrganization ? 'Presenter' : 'Attendee';
    case 'roleIsPresenter':
      return s.invited?.role === 'presenter' ? 'Presenter' : 'Attendee';
    default:
      return 'Attendee';
  }
}

/** Who joins without waiting, in words, for the join page. */
export function lobbyBypassDescription(scope: string): string {
  switch (scope) {
    case 'everyone':
      return 'Everyone, including anonymous guests, joins directly.';
    case 'organizationAndFederated':
      return "People in the organizer's organization and in trusted organizations join directly; anonymous guests wait in the lobby.";
    case 'organization':
      return "People in the organizer's organization join directly; everyone else waits in the lobby.";
    case 'organizationExcludingGuests':
      return "People in the organizer's organization, except guests, join directly; everyone else waits in the lobby.";
    case 'invited':
      return 'People invited to the meeting join directly; everyone else waits in the lobby.';
    default:
      return 'Only the organizer and co-organizers join directly; everyone else waits in the lobby.';
  }
}

/** Who may present, in words, for the join page. */
export function presentersDescription(allowedPresenters: string): string {
  switch (allowedPresenters) {
    case 'everyone':
      return 'Everyone can present.';
    case 'organization':
      return "People in the organizer's organization can present.";
    case 'roleIsPresenter':
      return 'People invited as presenters can present.';
    default:
      return 'Only the organizer and co-organizers can present.';
  }
}
