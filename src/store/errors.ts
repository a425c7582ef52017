// The store raises the domain's own "unavailable" error, so callers above never import store code.
export { StoreUnavailable } from '../domain/errors.js';
