// Graph addresses some resources with OData syntax a router cannot match: the beta alternate key
// `onlineMeetings(joinWebUrl='…')` and bound functions such as `getAllRecordings(…)`. Before routing,
// they are rewritten into plain segments that the routes in routes/online-meetings.ts handle.

/** Prefix of the `:meetingId` segment that stands for the alternate key by join URL. */
export const JOIN_WEB_URL_KEY = 'joinWebUrl=';

// (…) and '…' may arrive percent-encoded.
const ALTERNATE_KEY = /\/onlineMeetings(?:\(|%28)joinWebUrl=(?:'|%27)(.*)(?:'|%27)(?:\)|%29)(?=\/|$)/i;
const FUNCTION_CALL = /\/onlineMeetings\/((?:microsoft\.graph\.)?getAll(?:Recordings|Transcripts))(?:\(|%28)[^/]*$/i;

/** decodeURIComponent that leaves malformed escapes as they are. */
export function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export function rewriteODataPath(url: string): string {
  const queryStart = url.indexOf('?');
  const path = queryStart < 0 ? url : url.slice(0, queryStart);
  const query = queryStart < 0 ? '' : url.slice(queryStart);
  let rewritten = path;
  if (/^\/beta\//i.test(path)) {
    rewritten = rewritten.replace(ALTERNATE_KEY, (_match, raw: string) => {
      const joinWebUrl = decode(raw).replace(/''/g, "'");
      return `/onlineMeetings/${encodeURIComponent(JOIN_WEB_URL_KEY + joinWebUrl)}`;
    });
  }
  rewritten = rewritten.replace(FUNCTION_CALL, '/onlineMeetings/$1');
  return rewritten === path ? url : rewritten + query;
}

/** What a `:meetingId` segment names: a meeting id, or (beta) a join URL. */
export function meetingKey(segment: string): { id: string } | { joinWebUrl: string } {
  return segment.startsWith(JOIN_WEB_URL_KEY) ? { joinWebUrl: segment.slice(JOIN_WEB_URL_KEY.length) } : { id: segment };
}
