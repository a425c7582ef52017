// fast-check arbitraries for hostile input: any JSON value in any position of a body, JSON text that
// JSON.stringify cannot produce (duplicate keys, odd numbers), hostile Unicode and date-times.
import fc from 'fast-check';

/** JSON text inserted verbatim where a value goes (numbers JSON.stringify would rewrite). */
export class RawJson {
  constructor(readonly text: string) {}
}

const ODD_NUMBERS = ['1e400', '-1e400', '-0', '1E-400', '123456789012345678901234567890', '0.1e1', '-0.0', '9007199254740993', '1e308'];

/** Strings that stress lengths and code points: lone surrogates, NUL, RTL marks, BOM, 256/257 chars. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  // Any UTF-16 code unit, lone surrogates included.
  fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 40 }),
  fc.constantFrom('', '\u0000', 'a\u0000b', '\u202e', 'abc\u200f', '\ufeff', '\ud800', '\udfff', 'a\ud83d', '😀'.repeat(128), 'é'.repeat(257)),
  fc.integer({ min: 250, max: 260 }).map((n) => 'k'.repeat(n)),
  fc.integer({ min: 1, max: 4 }).map((n) => '😀'.repeat(128 * n - 1) + 'x'),
  fc.constant('x'.repeat(200_000)),
);

/** Any JSON value, favouring the shapes that break code: null, empty containers, deep nests, huge values. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 3, arbitrary: fc.constantFrom(null, [], {}, [null], [[]], [{}], 0, -1, true, false, '', 'null', '[]') },
  { weight: 2, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.constantFrom(...ODD_NUMBERS).map((text) => new RawJson(text)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 70 }).map((depth) => nest(depth)) },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 1005 }).map((n) => Array.from({ length: n }, () => ({ upn: 'x@y.example' }))) },
  { weight: 1, arbitrary: fc.dictionary(fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'), fc.jsonValue({ maxDepth: 2 })) },
);

function nest(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value };
  return value;
}

const dateTimeParts = (valid: boolean) =>
  fc.record({
    year: valid
      ? fc.oneof(fc.constantFrom(1, 2, 99, 100, 1969, 1970, 2030, 9998, 9999), fc.integer({ min: 1, max: 9999 }))
      : fc.oneof(fc.constantFrom(0, 1, 9999, 10000), fc.integer({ min: 0, max: 9999 })),
    month: valid ? fc.oneof(fc.constantFrom(1, 2, 12), fc.integer({ min: 1, max: 12 })) : fc.integer({ min: 0, max: 13 }),
    day: valid ? fc.oneof(fc.constantFrom(1, 28, 29, 31), fc.integer({ min: 1, max: 28 })) : fc.integer({ min: 0, max: 32 }),
    hour: valid ? fc.constantFrom(0, 10, 13, 22, 23) : fc.integer({ min: 0, max: 24 }),
    minute: valid ? fc.constantFrom(0, 30, 59) : fc.constantFrom(0, 59, 60),
    second: valid ? fc.constantFrom(0, 59) : fc.constantFrom(0, 59, 60),
    fraction: fc.constantFrom('', '.0', '.5', '.999', '.9999999', '.99999999999', '.0000001', '.1234567890123'),
    zone: valid
      ? fc.constantFrom('Z', '+00:00', '-00:00', '+14:00', '-14:00', '+23:59', '-23:59', '+05:30')
      : fc.constantFrom('Z', '+14:00', 'z', '', '+1400', '+24:00', '-14:60'),
  });

/** Date-times at and beyond the edges: years 0000/0001/9999/10000, offsets up to ±23:59, :60, 7+ digits. */
export const hostileDateTime: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: dateTimeParts(true).map(formatParts) },
  { weight: 2, arbitrary: dateTimeParts(false).map(formatParts) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '9999-12-31T23:59:59.9999999Z',
      '9999-12-31T23:59:59.9999999+00:00',
      '9999-12-31T23:00:00Z',
      '9999-12-31T23:30:00Z',
      '9999-12-31T23:59:59.9999999-14:00',
      '9999-12-31T10:00:00+14:00',
      '9999-11-01T00:00:00Z',
      '0001-01-01T00:00:00Z',
      '0001-01-01T00:00:00+14:00',
      '0001-01-01T00:00:00-14:00',
      '0000-01-01T00:00:00Z',
      '-0001-01-01T00:00:00Z',
      '+010000-01-01T00:00:00Z',
      '10000-01-01T00:00:00Z',
      '2016-12-31T23:59:60Z',
      '2024-02-29T12:00:00Z',
      '2023-02-29T12:00:00Z',
      '2030-01-01T10:00:00',
      '2030-01-01',
      'now',
    ),
  },
  { weight: 1, arbitrary: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()) },
);

function formatParts(p: { year: number; month: number; day: number; hour: number; minute: number; second: number; fraction: string; zone: string }) {
  return `${pad(p.year, 4)}-${pad(p.month, 2)}-${pad(p.day, 2)}T${pad(p.hour, 2)}:${pad(p.minute, 2)}:${pad(p.second, 2)}${p.fraction}${p.zone}`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** JSON text for `value`, writing RawJson verbatim; object keys may repeat when given as entries. */
export function toJsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (value instanceof DuplicateKeys) {
    return `{${value.entries.map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`).join(',')}}`;
  }
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** An object written with the given entries in order, duplicates kept (JSON.parse keeps the last). */
export class DuplicateKeys {
  constructor(readonly entries: [string, unknown][]) {}
}

export type Mutation =
  | { kind: 'set'; path: string[]; value: unknown }
  | { kind: 'delete'; path: string[] }
  | { kind: 'duplicate'; key: string; value: unknown };

/** Applies a mutation to a copy of a plain JSON body; paths that cannot be reached are created. */
export function mutate(body: Record<string, unknown>, mutation: Mutation): unknown {
  const copy = structuredClone(body);
  if (mutation.kind === 'duplicate') {
    // The hostile value first, the original last (and the other way round): parsers keep the last.
    const original = copy[mutation.key];
    const rest = Object.entries(copy).filter(([k]) => k !== mutation.key);
    return new DuplicateKeys([[mutation.key, mutation.value], ...rest, [mutation.key, original ?? mutation.value]]);
  }
  let node: Record<string, unknown> = copy;
  const path = mutation.path;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]!;
    const next = node[key];
    if (next === null || typeof next !== 'object') node[key] = /^\d+$/.test(path[i + 1]!) ? [] : {};
    node = node[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1]!;
  // A named member of an array has no JSON form: nothing to send.
  if (Array.isArray(node) && !/^\d+$/.test(last)) return copy;
  if (mutation.kind === 'delete') delete node[last];
  else Object.defineProperty(node, last, { value: mutation.value, enumerable: true, configurable: true, writable: true });
  return copy;
}

/** A mutation at one of `paths` (or an unknown member), with a hostile value. */
export function mutationOf(paths: readonly string[][]): fc.Arbitrary<Mutation> {
  const anyPath = fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...paths) },
    { weight: 1, arbitrary: fc.constantFrom(...paths).chain((p) => fc.constantFrom('__proto__', 'constructor', 'unknownMember', '@odata.type', '0').map((k) => [...p.slice(0, -1), k])) },
  );
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('set' as const), path: anyPath, value: hostileValue }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), path: anyPath }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), key: fc.constantFrom(...paths.map((p) => p[0]!)), value: hostileValue }) },
  );
}
