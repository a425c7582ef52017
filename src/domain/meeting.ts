// The onlineMeeting as this service keeps it: Graph's v1.0 property names, values already in wire form.
// Version differences (beta's older names) are added when serializing, not stored.

export const ONLINE_MEETING_ROLES = ['attendee', 'presenter', 'unknownFutureValue', 'producer', 'coorganizer'] as const;
export type OnlineMeetingRole = (typeof ONLINE_MEETING_ROLES)[number];

export interface Identity {
  id?: string | null;
  displayName?: string | null;
  tenantId?: string | null;
  identityProvider?: string | null;
}

export interface ParticipantInfo {
  upn: string | null;
  role: OnlineMeetingRole;
  identity: { user: Identity };
}

export interface ChatInfo {
  threadId: string;
  messageId: string;
  replyChainMessageId: string | null;
}

export interface MeetingProperties {
  id: string;
  creationDateTime: string;
  startDateTime: string;
  endDateTime: string;
  expiryDateTime: string;
  externalId: string | null;
  subject: string | null;
  joinWebUrl: string;
  videoTeleconferenceId: string | null;
  meetingOptionsWebUrl: string;
  participants: { organizer: ParticipantInfo; attendees: ParticipantInfo[] };
  chatInfo: ChatInfo;
  joinMeetingIdSettings: { isPasscodeRequired: boolean; joinMeetingId: string; passcode: string | null };
  audioConferencing: {
    conferenceId: string;
    tollNumber: string;
    tollFreeNumber: string | null;
    tollNumbers: string[];
    tollFreeNumbers: string[];
    dialinUrl: string;
  };
  joinInformation: { content: string; contentType: 'html' };
  lobbyBypassSettings: { scope: string; isDialInBypassEnabled: boolean };
  isEntryExitAnnounced: boolean;
  allowedPresenters: string;
  allowMeetingChat: string;
  allowTeamworkReactions: boolean;
  allowAttendeeToEnableCamera: boolean;
  allowAttendeeToEnableMic: boolean;
  allowParticipantsToChangeName: boolean;
  allowBreakoutRooms: boolean;
  allowCopyingAndSharingMeetingContent: boolean;
  allowedLobbyAdmitters: string;
  allowLiveShare: string;
  allowPowerPointSharing: boolean;
  allowRecording: boolean;
  allowTranscription: boolean;
  allowWhiteboard: boolean;
  recordAutomatically: boolean;
  shareMeetingChatHistoryDefault: string;
  watermarkProtection: { isEnabledForContentSharing: boolean; isEnabledForVideo: boolean };
  chatRestrictions: { allowTextOnly: boolean };
  isEndToEndEncryptionEnabled: boolean;
  isBroadcast: boolean;
  meetingType: string;
  meetingTemplateId: string | null;
  meetingSpokenLanguageTag: string | null;
  /** Beta only; absent on meetings stored before it existed. */
  anonymizeIdentityForRoles?: string[];
}

/** A stored meeting: its Graph properties plus the key it is filed under. */
export interface Meeting {
  tenantId: string;
  organizerId: string;
  properties: MeetingProperties;
}

/**
 * The organizer defaults of a tenant without policies of its own (observed Teams defaults), as a
 * new object each time, nested objects included: a literal is built far faster than a copy.
 */
export const defaultSettings = () => ({
  lobbyBypassSettings: { scope: 'organization', isDialInBypassEnabled: false },
  isEntryExitAnnounced: true,
  allowedPresenters: 'everyone',
  allowMeetingChat: 'enabled',
  allowTeamworkReactions: true,
  allowAttendeeToEnableCamera: true,
  allowAttendeeToEnableMic: true,
  allowParticipantsToChangeName: false,
  allowBreakoutRooms: true,
  allowCopyingAndSharingMeetingContent: true,
  allowedLobbyAdmitters: 'organizerAndCoOrganizersAndPresenters',
  allowLiveShare: 'enabled',
  allowPowerPointSharing: true,
  allowRecording: true,
  allowTranscription: true,
  allowWhiteboard: true,
  recordAutomatically: false,
  shareMeetingChatHistoryDefault: 'none',
  watermarkProtection: { isEnabledForContentSharing: false, isEnabledForVideo: false },
  chatRestrictions: { allowTextOnly: false },
  isEndToEndEncryptionEnabled: false,
  isBroadcast: false,
  meetingType: 'scheduled',
  meetingTemplateId: null,
  meetingSpokenLanguageTag: null,
}) satisfies Partial<MeetingProperties>;
