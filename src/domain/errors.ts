// Errors the domain raises. They carry meaning only; http/graph-errors.ts decides the wire shape.

export class DomainError extends Error {
  override name = 'DomainError';
}

/** The request is well-formed JSON but breaks a meeting rule (bad value, missing key, …). */
export class InvalidRequest extends DomainError {
  override name = 'InvalidRequest';
}

/** A user named by the request does not exist in the caller's tenant. */
export class UserNotFound extends DomainError {
  override name = 'UserNotFound';
  constructor(readonly userRef: string) {
    super(`Resource '${userRef}' does not exist or one of its queried reference-property objects are not present.`);
  }
}

/** No meeting with that id is visible to the caller. */
export class MeetingNotFound extends DomainError {
  override name = 'MeetingNotFound';
  constructor() {
    super('The requested meeting was not found.');
  }
}

/** The meeting id is not one this service issued. */
export class CorruptedMeetingId extends DomainError {
  override name = 'CorruptedMeetingId';
  constructor() {
    super('Meeting Id is corrupted.');
  }
}

/** The organizer has created as many meetings as the monthly limit allows (when limits are on). */
export class CreationLimitReached extends DomainError {
  override name = 'CreationLimitReached';
  /** Whole seconds until the month's count starts again. */
  constructor(readonly retryAfterSeconds: number) {
    super(`The organizer has created the most meetings allowed this month; retry in ${retryAfterSeconds} s.`);
  }
}

/**
 * The persistence behind the domain's ports cannot be reached or did not answer in time; the
 * outcome of a write is unknown. Raised by store adapters; a "try later", not a fault.
 */
export class StoreUnavailable extends Error {
  override name = 'StoreUnavailable';
}

/** Only a meeting's organizer may change or delete it. */
export class NotOrganizer extends DomainError {
  override name = 'NotOrganizer';
  constructor() {
    super('Only the organizer of the meeting can change or delete it.');
  }
}
