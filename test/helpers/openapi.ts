// Graph's own schemas as test oracles: the PowerShell-SDK OpenAPI 3.0 files (Sep 2024) compiled with
// Ajv, and the 2026 v1.0 CSDL for the properties that OpenAPI predates. See
// spec/openapi/README.md for what each file is.
//
//   checkGraphBody(body, { version, type }) → list of problems ([] = valid), made of
//   * Ajv errors against components.schemas[type] (OpenAPI 3.0 → JSON Schema: $refs resolved,
//     `nullable` honoured, a bare $ref is not nullable, allOf inheritance, formats and patterns);
//   * members that no schema declares and that are not known dynamic properties (typos).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import ajvFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

export type ApiVersion = 'v1.0' | 'beta';
// JSON Schema nodes are arbitrary JSON.
type Schema = Record<string, any>;

export const SPEC_DIR = process.env.GRAPH_SPEC_DIR ?? fileURLToPath(new URL('../../spec/', import.meta.url));

const REF_PREFIX = '#/components/schemas/';
const UNKNOWN_FUTURE_VALUE = 'unknownFutureValue';
// The OpenAPI date-time pattern, reused for CSDL Edm.DateTimeOffset.
const DATE_TIME_PATTERN =
  '^[0-9]{4,}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{1,12})?(Z|[+-][0-9][0-9]:[0-9][0-9])$';

export interface EnumOptions {
  /**
   * Whether the caller sent `Prefer: include-unknown-enum-members`. Without it, members declared
   * after unknownFutureValue must not appear (they are sent as unknownFutureValue), so the enums
   * of evolvable types are cut after the sentinel.
   */
  includeUnknownEnumMembers?: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function untilSentinel(members: unknown[], options: EnumOptions): unknown[] {
  const sentinel = members.indexOf(UNKNOWN_FUTURE_VALUE);
  return options.includeUnknownEnumMembers || sentinel < 0 ? members : members.slice(0, sentinel + 1);
}

// ---------------------------------------------------------------------------------------------
// OpenAPI 3.0 → JSON Schema (draft-07, as Ajv reads it)

/** `additionalProperties: {type: object}` is the generator's marker for OData open types, not a rule. */
const isOpenTypeMarker = (v: unknown) => isObject(v) && v.type === 'object' && Object.keys(v).length === 1;
const ANNOTATION_KEYWORDS = new Set(['description', 'example', 'externalDocs', 'xml', 'readOnly', 'writeOnly', 'deprecated', 'discriminator']);

function convertSchema(node: unknown, options: EnumOptions): unknown {
  if (Array.isArray(node)) return node.map((n) => convertSchema(n, options));
  if (!isObject(node)) return node;
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    if (ANNOTATION_KEYWORDS.has(key) || key.startsWith('x-') || key === 'nullable') continue;
    if (key === '$ref') {
      if (typeof value !== 'string' || !value.startsWith(REF_PREFIX)) throw new Error(`unsupported $ref ${String(value)}`);
      out.$ref = `#/definitions/${value.slice(REF_PREFIX.length)}`;
    } else if (key === 'properties') {
      out.properties = Object.fromEntries(Object.entries(value as Schema).map(([k, v]) => [k, convertSchema(v, options)]));
    } else if (key === 'additionalProperties' && isOpenTypeMarker(value)) {
      // Undeclared members of open types may hold any JSON value; undeclaredMembers() reports them.
    } else if (key === 'enum') {
      out.enum = untilSentinel(value as unknown[], options);
    } else {
      out[key] = convertSchema(value, options);
    }
  }
  const flags = node['x-ms-enum-flags'];
  if (isObject(flags) && flags.isFlags === true && Array.isArray(out.enum)) {
    // Flags enums are serialized as comma-separated member names.
    const member = `(${out.enum.map((m) => String(m).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`;
    delete out.enum;
    out.pattern = `^${member}(,${member})*$`;
  }
  if (node.nullable === true) {
    if (typeof out.type !== 'string') throw new Error(`nullable without a type: ${JSON.stringify(node).slice(0, 200)}`);
    out.type = [out.type, 'null'];
    if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
  }
  return out;
}

const openApiDocs = new Map<ApiVersion, Schema>();

/** The parsed `{version}-CloudCommunications.yml`. */
export function openApiDocument(version: ApiVersion): Schema {
  let doc = openApiDocs.get(version);
  if (!doc) {
    doc = parseYaml(readFileSync(`${SPEC_DIR}/openapi/${version}-CloudCommunications.yml`, 'utf8')) as Schema;
    openApiDocs.set(version, doc);
  }
  return doc;
}

const schemaId = (version: ApiVersion, options: EnumOptions) =>
  `urn:graph-openapi:${version}:${options.includeUnknownEnumMembers ? 'all-enum-members' : 'until-unknownFutureValue'}`;

const converted = new Map<string, Record<string, Schema>>();

/** components.schemas converted to JSON Schema, $refs pointing at `#/definitions/{name}`. */
function definitions(version: ApiVersion, options: EnumOptions): Record<string, Schema> {
  const id = schemaId(version, options);
  let defs = converted.get(id);
  if (!defs) {
    const schemas = openApiDocument(version).components.schemas as Record<string, unknown>;
    defs = Object.fromEntries(Object.entries(schemas).map(([name, s]) => [name, convertSchema(s, options) as Schema]));
    converted.set(id, defs);
  }
  return defs;
}

function newAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
  ajvFormats.default(ajv); // date-time (with a mandatory offset), uuid, duration, …
  // OData formats of the generator; numeric ones are checked by `type` already.
  ajv.addFormat('base64url', /^[A-Za-z0-9_-]*={0,2}$/);
  ajv.addFormat('binary', true);
  for (const f of ['int32', 'int64', 'float', 'double', 'decimal']) ajv.addFormat(f, { type: 'number', validate: () => true });
  return ajv;
}

const ajvs = new Map<string, Ajv>();

function ajvFor(version: ApiVersion, options: EnumOptions): Ajv {
  const id = schemaId(version, options);
  let ajv = ajvs.get(id);
  if (!ajv) {
    ajv = newAjv();
    ajv.addSchema({ $id: id, definitions: definitions(version, options) });
    ajvs.set(id, ajv);
  }
  return ajv;
}

function openApiValidator(version: ApiVersion, type: string, options: EnumOptions): ValidateFunction {
  const validate = ajvFor(version, options).getSchema(`${schemaId(version, options)}#/definitions/${type}`);
  if (!validate) throw new Error(`no schema ${type} in the ${version} OpenAPI`);
  return validate;
}

function valueAt(data: unknown, pointer: string): unknown {
  let node = data;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    node = Array.isArray(node) ? node[Number(key)] : isObject(node) ? node[key] : undefined;
  }
  return node;
}

/** `/participants/organizer/role = "boss": must be equal to one of the allowed values [...] (#/definitions/…)` */
function describeAjvError(e: ErrorObject, data: unknown, pathPrefix = ''): string {
  const value = JSON.stringify(valueAt(data, e.instancePath)) ?? 'undefined';
  const extra =
    e.keyword === 'enum'
      ? ` ${JSON.stringify(e.params.allowedValues)}`
      : e.keyword === 'additionalProperties'
        ? ` (${JSON.stringify(e.params.additionalProperty)})`
        : '';
  const path = `${pathPrefix}${e.instancePath}` || '/';
  return `${path} = ${value.length > 120 ? `${value.slice(0, 117)}...` : value}: ${e.message}${extra} (${e.schemaPath})`;
}

/** Ajv's verdict on `body` (annotations must already be stripped) against components.schemas[type]. */
export function openApiErrors(body: unknown, version: ApiVersion, type: string, options: EnumOptions = {}): string[] {
  const validate = openApiValidator(version, type, options);
  if (validate(body)) return [];
  return (validate.errors ?? []).map((e) => describeAjvError(e, body));
}

// ---------------------------------------------------------------------------------------------
// Members that the OpenAPI does not declare

export interface UndeclaredMember {
  /** JSON pointer, e.g. `/participants/attendees/0/identity/user/tenantId` */
  path: string;
  /** The schema (with its allOf chain) that lacks the member, e.g. `microsoft.graph.identity`. */
  owner: string;
  name: string;
  value: unknown;
}

const refName = (ref: string) => ref.slice('#/definitions/'.length);

/** The declared members of an object schema, merged over its allOf chain; owner = the most derived $ref. */
function objectShape(defs: Record<string, Schema>, schema: Schema, owner?: string): { owner: string; properties: Record<string, Schema> } {
  if (typeof schema.$ref === 'string') {
    const name = refName(schema.$ref);
    return objectShape(defs, defs[name] ?? {}, owner ?? name);
  }
  const properties: Record<string, Schema> = {};
  for (const part of (schema.allOf ?? []) as Schema[]) Object.assign(properties, objectShape(defs, part).properties);
  Object.assign(properties, schema.properties ?? {});
  return { owner: owner ?? '(inline schema)', properties };
}

function itemsSchema(defs: Record<string, Schema>, schema: Schema): Schema | undefined {
  if (typeof schema.$ref === 'string') return itemsSchema(defs, defs[refName(schema.$ref)] ?? {});
  return isObject(schema.items) ? schema.items : undefined;
}

/** Every member of `body` that its schema (per the version's OpenAPI) does not declare. */
export function undeclaredMembers(body: unknown, version: ApiVersion, type: string): UndeclaredMember[] {
  const defs = definitions(version, { includeUnknownEnumMembers: true });
  const out: UndeclaredMember[] = [];
  const walk = (schema: Schema, value: unknown, path: string) => {
    if (Array.isArray(value)) {
      const items = itemsSchema(defs, schema);
      if (items) value.forEach((v, i) => walk(items, v, `${path}/${i}`));
    } else if (isObject(value)) {
      const shape = objectShape(defs, schema);
      for (const [name, member] of Object.entries(value)) {
        const memberPath = `${path}/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        const declared = shape.properties[name];
        if (declared) walk(declared, member, memberPath);
        else out.push({ path: memberPath, owner: shape.owner, name, value: member });
      }
    }
  };
  walk({ $ref: `#/definitions/${type}` }, body, '');
  return out;
}

// ---------------------------------------------------------------------------------------------
// The 2026 model: v1.0 CSDL excerpt (names and types), beta type mappings (names only)

interface CsdlProperty {
  type: string;
  nullable: boolean;
}
interface CsdlType {
  kind: 'EntityType' | 'ComplexType' | 'EnumType';
  baseType?: string;
  open: boolean;
  properties: Map<string, CsdlProperty>;
  members: string[];
}

const attributes = (text: string) => Object.fromEntries([...text.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
const unqualified = (name: string) => name.replace(/^(graph|microsoft\.graph)\./, '');

let csdlCache: Map<string, CsdlType> | undefined;

/** EntityType, ComplexType and EnumType elements of the v1.0 CSDL excerpt, by unqualified name. */
export function csdlTypes(): Map<string, CsdlType> {
  if (csdlCache) return csdlCache;
  const xml = readFileSync(`${SPEC_DIR}/metadata/v1.0-Prod.csdl.onlineMeeting-excerpt.xml`, 'utf8');
  csdlCache = new Map();
  for (const m of xml.matchAll(/<(EntityType|ComplexType|EnumType)\s([^>]*)>([\s\S]*?)<\/\1>/g)) {
    const attrs = attributes(m[2]!);
    const properties = new Map<string, CsdlProperty>();
    for (const p of m[3]!.matchAll(/<Property\s([^>]*?)\/>/g)) {
      const a = attributes(p[1]!);
      properties.set(a.Name!, { type: a.Type!, nullable: a.Nullable !== 'false' });
    }
    csdlCache.set(attrs.Name!, {
      kind: m[1] as CsdlType['kind'],
      ...(attrs.BaseType ? { baseType: unqualified(attrs.BaseType) } : {}),
      open: attrs.OpenType === 'true',
      properties,
      members: [...m[3]!.matchAll(/<Member\s([^>]*?)\/>/g)].map((x) => attributes(x[1]!).Name!),
    });
  }
  return csdlCache;
}

/** Structural properties of a CSDL type including those it inherits. */
function csdlProperties(name: string): Map<string, CsdlProperty> {
  const type = csdlTypes().get(name);
  if (!type) return new Map();
  return new Map([...(type.baseType ? csdlProperties(type.baseType) : []), ...type.properties]);
}

/** JSON Schema for a CSDL type reference such as `Edm.String`, `graph.lobbyBypassScope` or `Collection(…)`. */
function csdlSchema(ref: string, nullable: boolean, options: EnumOptions): Schema {
  const collection = /^Collection\((.+)\)$/.exec(ref);
  if (collection) return { type: 'array', items: csdlSchema(collection[1]!, nullable, options) };
  const orNull = (s: Schema): Schema => {
    if (!nullable) return s;
    return { ...s, type: [s.type, 'null'], ...(s.enum ? { enum: [...s.enum, null] } : {}) };
  };
  switch (ref) {
    case 'Edm.String':
      return orNull({ type: 'string' });
    case 'Edm.Boolean':
      return orNull({ type: 'boolean' });
    case 'Edm.Int32':
    case 'Edm.Int64':
      return orNull({ type: 'integer' });
    case 'Edm.DateTimeOffset':
      return orNull({ type: 'string', format: 'date-time', pattern: DATE_TIME_PATTERN });
  }
  const name = unqualified(ref);
  const type = csdlTypes().get(name);
  if (!type) throw new Error(`CSDL type ${ref} is not in the excerpt`);
  if (type.kind === 'EnumType') return orNull({ type: 'string', enum: untilSentinel(type.members, options) });
  const properties = Object.fromEntries([...csdlProperties(name)].map(([k, p]) => [k, csdlSchema(p.type, p.nullable, options)]));
  return orNull({ type: 'object', properties, additionalProperties: type.open });
}

const csdlAjv = newAjv();
const csdlValidators = new Map<string, ValidateFunction>();

function csdlValidator(property: CsdlProperty, options: EnumOptions): ValidateFunction {
  const key = `${property.type}|${property.nullable}|${Boolean(options.includeUnknownEnumMembers)}`;
  let validate = csdlValidators.get(key);
  if (!validate) {
    validate = csdlAjv.compile(csdlSchema(property.type, property.nullable, options));
    csdlValidators.set(key, validate);
  }
  return validate;
}

let csdlAdditionsCache: Map<string, Map<string, CsdlProperty>> | undefined;
let betaAdditionsCache: Map<string, Set<string>> | undefined;

/**
 * v1.0: properties the 2026 CSDL declares but the 2024 OpenAPI does not, per OpenAPI schema name,
 * with their CSDL type. These are real, typed Graph properties that the OpenAPI-based validator
 * can only see as undeclared members.
 */
export function csdlAdditions(): Map<string, Map<string, CsdlProperty>> {
  if (csdlAdditionsCache) return csdlAdditionsCache;
  const defs = definitions('v1.0', { includeUnknownEnumMembers: true });
  const out = new Map<string, Map<string, CsdlProperty>>();
  for (const [name, type] of csdlTypes()) {
    const owner = `microsoft.graph.${name}`;
    if (type.kind === 'EnumType' || !defs[owner]) continue;
    const declared = objectShape(defs, { $ref: `#/definitions/${owner}` }).properties;
    const added = [...csdlProperties(name)].filter(([p]) => !(p in declared));
    if (added.length) out.set(owner, new Map(added));
  }
  csdlAdditionsCache = out;
  return out;
}

/** beta: property names of the Aug 2026 beta type mappings that the 2024 beta OpenAPI lacks (no types available). */
export function betaTypeMappingAdditions(): Map<string, Set<string>> {
  if (betaAdditionsCache) return betaAdditionsCache;
  const mappings = JSON.parse(readFileSync(`${SPEC_DIR}/metadata/type-mappings.onlineMeeting-excerpt.json`, 'utf8'));
  const beta = mappings.data.beta as Record<string, Record<string, { properties: string[] }>>;
  const defs = definitions('beta', { includeUnknownEnumMembers: true });
  const names = new Map<string, string[]>();
  for (const [name, t] of Object.entries({ ...beta.entity, ...beta.complex })) names.set(name, t.properties);
  // Type mappings list own properties only; onlineMeeting inherits onlineMeetingBase's.
  const inherited = (name: string): string[] =>
    name === 'onlineMeeting' ? [...(names.get('onlineMeetingBase') ?? []), ...(names.get(name) ?? [])] : (names.get(name) ?? []);
  const out = new Map<string, Set<string>>();
  for (const name of names.keys()) {
    const owner = `microsoft.graph.${name}`;
    if (!defs[owner]) continue;
    const declared = objectShape(defs, { $ref: `#/definitions/${owner}` }).properties;
    const added = inherited(name).filter((p) => !(p in declared));
    if (added.length) out.set(owner, new Set(added));
  }
  betaAdditionsCache = out;
  return out;
}

/** identity.user in meetings carries these communicationsUserIdentity members as dynamic properties (spec §7.3). */
export const IDENTITY_USER_DYNAMIC = ['tenantId', 'identityProvider'] as const;

export interface GraphBodyOptions extends EnumOptions {
  version: ApiVersion;
  /** An OpenAPI schema name, e.g. `microsoft.graph.onlineMeeting`. */
  type: string;
  /**
   * Further dynamic members allowed, keyed `{owner schema}#{name}` (e.g. deliberate legacy names),
   * each with the JSON Schema its value must match.
   */
  allowDynamic?: Readonly<Record<string, Schema>>;
}

/** Removes OData annotations (`@odata.context`, `prop@odata.type`, …): they are not properties. */
export function stripAnnotations(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripAnnotations);
  if (!isObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k]) => !k.startsWith('@') && !k.includes('@odata.'))
      .map(([k, v]) => [k, stripAnnotations(v)]),
  );
}

/**
 * Everything wrong with a response body per Graph's schemas: Ajv errors against the OpenAPI, plus
 * each undeclared member that is not a known dynamic property (v1.0: the 2026 CSDL additions;
 * beta: the names of the 2026 beta type mappings; both: identity.user's tenantId/identityProvider
 * and `allowDynamic`). Dynamic values are validated against their CSDL type where one is known.
 */
export function checkGraphBody(body: unknown, options: GraphBodyOptions): string[] {
  const { version, type } = options;
  const data = stripAnnotations(body);
  const problems = openApiErrors(data, version, type, options).map((e) => `schema: ${e}`);
  const betaNames = version === 'beta' ? betaTypeMappingAdditions() : new Map<string, Set<string>>();
  for (const m of undeclaredMembers(data, version, type)) {
    const key = `${m.owner}#${m.name}`;
    // Undeclared in the OpenAPI but declared in the 2026 CSDL: a property the OpenAPI predates.
    const csdl = csdlProperties(unqualified(m.owner)).get(m.name);
    const extra = options.allowDynamic?.[key];
    if (extra) {
      const validate = csdlAjv.compile(extra);
      if (!validate(m.value)) for (const e of validate.errors ?? []) problems.push(`dynamic ${key}: ${describeAjvError(e, m.value, m.path)}`);
    } else if (version === 'v1.0' ? csdl : betaNames.get(m.owner)?.has(m.name)) {
      // A 2026 property. beta has no typed 2026 model here: its members are typed like v1.0's where v1.0 has them.
      if (!csdl) continue;
      const validate = csdlValidator(csdl, options);
      if (!validate(m.value)) {
        for (const e of validate.errors ?? []) problems.push(`CSDL 2026 (${csdl.type}): ${describeAjvError(e, m.value, m.path)}`);
      }
    } else if (/\/identity\/user\/[^/]+$/.test(m.path) && (IDENTITY_USER_DYNAMIC as readonly string[]).includes(m.name)) {
      if (m.value !== null && typeof m.value !== 'string') problems.push(`dynamic: ${m.path} = ${JSON.stringify(m.value)}: must be a string or null`);
    } else {
      problems.push(`undeclared: ${m.path} (not a property of ${m.owner} in the ${version} OpenAPI nor a known dynamic property)`);
    }
  }
  return problems;
}

export function assertGraphBody(body: unknown, options: GraphBodyOptions, label = ''): void {
  const problems = checkGraphBody(body, options);
  assert.deepEqual(problems, [], `${label ? `${label}: ` : ''}${options.type} (${options.version}) violates Graph's schema:\n  ${problems.join('\n  ')}`);
}
