// Why a caller was turned away. http/graph-errors.ts maps each to Graph's status, code and message.

export class AuthError extends Error {}

/** No usable token: 401. `message` is the Graph message to send. */
export class AuthenticationFailed extends AuthError {
  override name = 'AuthenticationFailed';
}

/** Token valid, but it lacks the scope or role the operation needs: 403. */
export class InsufficientPrivileges extends AuthError {
  override name = 'InsufficientPrivileges';
  constructor(message = 'Insufficient privileges to complete the operation.') {
    super(message);
  }
}

/** An application token on a /me path: 400. */
export class DelegatedOnlyRoute extends AuthError {
  override name = 'DelegatedOnlyRoute';
  constructor() {
    super('/me request is only valid with delegated authentication flow.');
  }
}

/** No application access policy grants the app for the user: 403. */
export class NoAccessPolicy extends AuthError {
  override name = 'NoAccessPolicy';
  constructor() {
    super('No Application Access Policy found for this app');
  }
}
