// JSON shape of the createOrGet body (the six parameters of spec §4.2). Unknown members are
// accepted and ignored, as Graph does; meeting rules (keys, dates) are checked by the domain.
export const MAX_ATTENDEES = 1000;
const MAX_STRING = 1024;

const nullableString = { type: ['string', 'null'], maxLength: MAX_STRING } as const;

const identity = {
  type: ['object', 'null'],
  properties: { id: nullableString, displayName: nullableString },
} as const;

export const participantInfoSchema = {
  type: ['object', 'null'],
  properties: {
    upn: nullableString,
    role: { type: ['string', 'null'], maxLength: 64 },
    identity: {
      type: ['object', 'null'],
      properties: { user: identity, application: identity, device: identity },
    },
  },
} as const;

export const participantsSchema = {
  type: ['object', 'null'],
  properties: {
    organizer: participantInfoSchema,
    // An attendee may not be null: there is no one to invite.
    attendees: { type: ['array', 'null'], maxItems: MAX_ATTENDEES, items: { ...participantInfoSchema, type: 'object' } },
  },
} as const;

export const createOrGetBodySchema = {
  type: 'object',
  required: ['externalId'],
  properties: {
    // Length and character rules live in the domain so that every entry point shares them.
    externalId: { type: ['string', 'null'] },
    startDateTime: { type: ['string', 'null'], maxLength: 64 },
    endDateTime: { type: ['string', 'null'], maxLength: 64 },
    subject: { type: ['string', 'null'] },
    participants: participantsSchema,
    chatInfo: {
      type: ['object', 'null'],
      properties: { threadId: nullableString, messageId: nullableString, replyChainMessageId: nullableString },
    },
  },
} as const;
