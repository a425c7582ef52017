// The meeting options a caller may set on create and change with PATCH (spec §5.1, §5.4), with the
// values each accepts. http/ builds its request schemas from this catalogue.

export const ENUMS = {
  onlineMeetingPresenters: ['everyone', 'organization', 'roleIsPresenter', 'organizer', 'unknownFutureValue'],
  meetingChatMode: ['enabled', 'disabled', 'limited', 'unknownFutureValue'],
  meetingLiveShareOptions: ['enabled', 'disabled', 'unknownFutureValue'],
  allowedLobbyAdmitterRoles: ['organizerAndCoOrganizersAndPresenters', 'organizerAndCoOrganizers', 'unknownFutureValue'],
  meetingChatHistoryDefaultMode: ['none', 'all', 'unknownFutureValue'],
  lobbyBypassScope: [
    'organizer',
    'organization',
    'organizationAndFederated',
    'everyone',
    'unknownFutureValue',
    'invited',
    'organizationExcludingGuests',
  ],
} as const;

export type SettingKind =
  | { type: 'boolean' }
  | { type: 'string' }
  | { type: 'enum'; values: readonly string[] }
  /** A complex value: PATCH merges its members into the stored one (spec §5.4). */
  | { type: 'object'; members: Record<string, { type: 'boolean' } | { type: 'string' } | { type: 'enum'; values: readonly string[] }> };

const bool = { type: 'boolean' } as const;
const enumOf = (values: readonly string[]) => ({ type: 'enum', values }) as const;

/** Options settable on create and by PATCH (beyond subject, times and participants). */
export const UPDATABLE_SETTINGS: Readonly<Record<string, SettingKind>> = {
  allowAttendeeToEnableCamera: bool,
  allowAttendeeToEnableMic: bool,
  allowBreakoutRooms: bool,
  allowCopyingAndSharingMeetingContent: bool,
  allowedLobbyAdmitters: enumOf(ENUMS.allowedLobbyAdmitterRoles),
  allowedPresenters: enumOf(ENUMS.onlineMeetingPresenters),
  allowLiveShare: enumOf(ENUMS.meetingLiveShareOptions),
  allowMeetingChat: enumOf(ENUMS.meetingChatMode),
  allowParticipantsToChangeName: bool,
  allowPowerPointSharing: bool,
  allowRecording: bool,
  allowTeamworkReactions: bool,
  allowTranscription: bool,
  allowWhiteboard: bool,
  isEntryExitAnnounced: bool,
  recordAutomatically: bool,
  shareMeetingChatHistoryDefault: enumOf(ENUMS.meetingChatHistoryDefaultMode),
  meetingSpokenLanguageTag: { type: 'string' },
  lobbyBypassSettings: {
    type: 'object',
    members: { scope: enumOf(ENUMS.lobbyBypassScope), isDialInBypassEnabled: bool },
  },
  watermarkProtection: { type: 'object', members: { isEnabledForContentSharing: bool, isEnabledForVideo: bool } },
  chatRestrictions: { type: 'object', members: { allowTextOnly: bool } },
};

/** Options settable only when the meeting is created. */
export const CREATE_ONLY_SETTINGS: Readonly<Record<string, SettingKind>> = {
  isEndToEndEncryptionEnabled: bool,
  meetingTemplateId: { type: 'string' },
};

/** Applies the settings present in `input` to `current`: scalars replace, complex values merge. */
export function mergeSettings<T extends object>(current: T, input: Record<string, unknown>, catalogue: Readonly<Record<string, SettingKind>>): T {
  const next: Record<string, unknown> = { ...(current as Record<string, unknown>) };
  for (const [name, kind] of Object.entries(catalogue)) {
    const value = input[name];
    if (value === undefined) continue;
    // Only free-text options can be cleared; null for a switch or choice leaves it as it is.
    if (value === null) {
      if (kind.type === 'string') next[name] = null;
      continue;
    }
    next[name] = kind.type === 'object' ? { ...(next[name] as object), ...(value as object) } : value;
  }
  return next as T;
}
