// JSON shapes of the create (POST …/onlineMeetings) and update (PATCH) bodies, built from the
// domain's catalogue of settable options. Unknown and read-only members are accepted and ignored.
import { CREATE_ONLY_SETTINGS, type SettingKind, UPDATABLE_SETTINGS } from '../../domain/meeting-settings.js';
import { ONLINE_MEETING_ROLES } from '../../domain/meeting.js';
import { participantsSchema } from './create-or-get.js';

const MAX_STRING = 1024;

function schemaOf(kind: SettingKind | Extract<SettingKind, { type: "object" }>["members"][string]): object {
  switch (kind.type) {
    case 'boolean':
      return { type: ['boolean', 'null'] };
    case 'string':
      return { type: ['string', 'null'], maxLength: MAX_STRING };
    case 'enum':
      return { type: ['string', 'null'], enum: [...kind.values, null] };
    case 'object':
      return {
        type: ['object', 'null'],
        properties: Object.fromEntries(Object.entries(kind.members).map(([name, member]) => [name, schemaOf(member)])),
      };
  }
}

function settingsSchemas(catalogue: Readonly<Record<string, SettingKind>>) {
  return Object.fromEntries(Object.entries(catalogue).map(([name, kind]) => [name, schemaOf(kind)]));
}

const common = {
  startDateTime: { type: ['string', 'null'], maxLength: 64 },
  endDateTime: { type: ['string', 'null'], maxLength: 64 },
  subject: { type: ['string', 'null'] },
  participants: participantsSchema,
  joinMeetingIdSettings: { type: ['object', 'null'], properties: { isPasscodeRequired: { type: ['boolean', 'null'] } } },
  anonymizeIdentityForRoles: {
    type: ['array', 'null'],
    maxItems: ONLINE_MEETING_ROLES.length,
    items: { type: 'string', enum: [...ONLINE_MEETING_ROLES] },
  },
  ...settingsSchemas(UPDATABLE_SETTINGS),
};

export const meetingPatchSchema = { type: 'object', properties: { ...common, ...settingsSchemas(CREATE_ONLY_SETTINGS) } };

export const createMeetingBodySchema = {
  type: 'object',
  properties: {
    ...common,
    ...settingsSchemas(CREATE_ONLY_SETTINGS),
    chatInfo: { type: ['object', 'null'], properties: { threadId: { type: ['string', 'null'], maxLength: MAX_STRING } } },
  },
};
