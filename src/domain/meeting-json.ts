// The JSON text a meeting's properties were stored as (or read back from), remembered per properties
// object. The store fills it in; the HTTP layer answers with it instead of re-serializing a meeting
// it did not change. Any change makes a new properties object, which has no text until stored.
import type { MeetingProperties } from './meeting.js';

const texts = new WeakMap<MeetingProperties, string>();

export function rememberJson(properties: MeetingProperties, text: string): MeetingProperties {
  texts.set(properties, text);
  return properties;
}

/** The stored JSON text of exactly these properties, when known. */
export function storedJsonOf(properties: MeetingProperties): string | undefined {
  return texts.get(properties);
}
