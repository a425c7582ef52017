// `serve --limits off|graph|FILE`: which of Graph's limits apply (online-meetings-api §9, protocol §8).
// A limit left out is not applied; 'off' applies none and costs nothing per request.
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../config/config.js';

export interface Limits {
  /** Meetings one organizer may create per calendar month (UTC, on the server's clock). */
  meetingsPerUserPerMonth?: number;
  /** Requests one app may make per second, per server process. */
  requestsPerSecondPerApp?: number;
}

/** The documented numbers: 2,000 meetings per user each month, 2,000 requests per second per app. */
export const GRAPH_LIMITS: Readonly<Required<Limits>> = { meetingsPerUserPerMonth: 2000, requestsPerSecondPerApp: 2000 };

const MEMBERS = Object.keys(GRAPH_LIMITS) as (keyof Limits)[];

/** The limits named by the --limits value; a ConfigError, naming the value, when it is not usable. */
export async function loadLimits(value: string): Promise<Limits> {
  if (value === 'off') return {};
  if (value === 'graph') return { ...GRAPH_LIMITS };
  let text: string;
  try {
    text = await readFile(value, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new ConfigError(`invalid --limits '${value}': expected off, graph or a JSON file of limits (cannot read it: ${reason})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`invalid --limits '${value}': not valid JSON: ${(error as Error).message}`);
  }
  return parseLimits(raw, `--limits '${value}'`);
}

/** Checks a limits object (the file's content, or the test helper's option); `source` names it in errors. */
export function parseLimits(raw: unknown, source: string): Limits {
  const invalid = (reason: string) => new ConfigError(`invalid ${source}: ${reason}`);
  const expected = `an object with ${MEMBERS.join(' and/or ')}, e.g. {"meetingsPerUserPerMonth":5,"requestsPerSecondPerApp":50}`;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(`expected ${expected}`);
  const limits: Limits = {};
  for (const [name, number] of Object.entries(raw)) {
    if (!MEMBERS.includes(name as keyof Limits)) throw invalid(`unknown member '${name}': expected ${MEMBERS.join(' or ')}`);
    if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 1) {
      throw invalid(`'${name}' must be a positive whole number, not ${JSON.stringify(number)}`);
    }
    limits[name as keyof Limits] = number;
  }
  if (Object.keys(limits).length === 0) throw invalid(`sets no limit: expected ${expected} (or --limits off)`);
  return limits;
}
