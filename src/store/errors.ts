/** The database cannot be reached or did not answer in time; the outcome of a write is unknown. */
export class StoreUnavailable extends Error {
  override name = 'StoreUnavailable';
}
