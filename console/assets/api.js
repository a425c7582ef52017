// Calls to the control API (/__admin), signed in by the console's cookie.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** JSON in and out; a Graph-shaped error becomes an ApiError with its message. */
export async function admin(method, path, body) {
  const init = { method, cache: 'no-store', credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`/__admin${path}`, init);
  if (response.status === 204) return undefined;
  const data = await response.json().catch(() => null);
  if (response.status === 401) throw new ApiError(401, 'You are signed out (the admin key changed?): reload the page to sign in again.');
  if (!response.ok) throw new ApiError(response.status, data?.error?.message ?? `The server answered ${response.status}.`);
  return data;
}

/** A query string of the non-empty values, with a leading '?' (or nothing). */
export function queryString(values) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined && value !== null && String(value).trim() !== '') params.set(name, String(value).trim());
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}
