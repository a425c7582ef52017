// --directory FILE (and `directory import`): tenants, users, apps and application access policies.
// Secrets and passwords come as plain text (hashed when stored) or as hashes a `directory export` wrote.
import { readFile } from 'node:fs/promises';
import { Ajv } from 'ajv';
import { type DirectorySeed, nulPointer, type SeedCredential } from '../domain/directory.js';
import { certificateThumbprint } from '../auth/credential-hash.js';
import { ConfigError } from './config.js';

const guid = { type: 'string', pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' };

const hash = { type: 'string', pattern: '^scrypt\\$' };

/** An array of objects with these members. */
const arrayOf = (required: string[], properties: Record<string, unknown>) => ({ type: 'array', items: { type: 'object', required, properties } });

const schema = {
  type: 'object',
  required: ['tenants'],
  properties: {
    tenants: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id'],
        properties: {
          id: guid,
          displayName: { type: 'string' },
          users: {
            type: 'array',
            items: {
              type: 'object',
              required: ['id'],
              properties: {
                id: guid,
                userPrincipalName: { type: 'string', minLength: 1 },
                displayName: { type: 'string' },
                password: { type: 'string', minLength: 1 },
                passwordHash: hash,
              },
            },
          },
          apps: {
            type: 'array',
            items: {
              type: 'object',
              required: ['appId'],
              properties: {
                appId: guid,
                displayName: { type: 'string' },
                secrets: { type: 'array', items: { type: 'string', minLength: 1 } },
                secretHashes: {
                  type: 'array',
                  items: { type: 'object', required: ['hash'], properties: { hash, hint: { type: 'string' } } },
                },
                certificates: { type: 'array', items: { type: 'string', pattern: '-----BEGIN CERTIFICATE-----' } },
                roles: { type: 'array', items: { type: 'string', minLength: 1 } },
                redirectUris: { type: 'array', items: { type: 'string', pattern: '^[a-zA-Z][a-zA-Z0-9+.-]*://\\S+$' } },
              },
            },
          },
          policies: arrayOf(['name', 'appIds'], {
            name: { type: 'string', minLength: 1, maxLength: 256 },
            appIds: { type: 'array', items: guid },
            users: { type: 'array', items: guid },
            global: { type: 'boolean' },
          }),
          applicationAccessPolicies: arrayOf(['appId'], { appId: guid, users: { type: 'array', items: guid }, scope: { const: 'global' } }),
        },
      },
    },
  },
};

const validate = new Ajv({ allErrors: false }).compile(schema);

interface RawDirectory {
  tenants: Array<{
    id: string;
    displayName?: string;
    users?: Array<{ id: string; userPrincipalName?: string; displayName?: string; password?: string; passwordHash?: string }>;
    apps?: Array<{
      appId: string;
      displayName?: string;
      secrets?: string[];
      secretHashes?: Array<{ hash: string; hint?: string }>;
      certificates?: string[];
      roles?: string[];
      redirectUris?: string[];
    }>;
    policies?: Array<{ name: string; appIds: string[]; users?: string[]; global?: boolean }>;
    applicationAccessPolicies?: Array<{ appId: string; users?: string[]; scope?: 'global' }>;
  }>;
}

export function parseDirectory(text: string, source: string): DirectorySeed {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`directory file ${source} is not valid JSON: ${(error as Error).message}`);
  }
  return directoryFromJson(raw, source);
}

/** A parsed seed document (a file's or an import request's body); ConfigError when malformed. */
export function directoryFromJson(raw: unknown, source: string): DirectorySeed {
  if (!validate(raw)) {
    const e = validate.errors![0]!;
    throw new ConfigError(`directory file ${source} is malformed: ${e.instancePath || '(root)'} ${e.message}`);
  }
  const nul = nulPointer(raw);
  if (nul !== undefined) throw new ConfigError(`directory file ${source} is malformed: ${nul} must not contain U+0000 (the NUL character)`);
  const dir = raw as unknown as RawDirectory;
  return {
    tenants: dir.tenants.map((t) => ({
      id: t.id,
      displayName: t.displayName ?? null,
      users: (t.users ?? []).map((u) => ({
        id: u.id,
        userPrincipalName: u.userPrincipalName ?? null,
        displayName: u.displayName ?? null,
        ...credential(u.password, u.passwordHash),
      })),
      apps: (t.apps ?? []).map((a) => ({
        appId: a.appId.toLowerCase(),
        displayName: a.displayName ?? null,
        roles: a.roles ?? [],
        redirectUris: a.redirectUris ?? [],
        certificates: (a.certificates ?? []).map((pem) => checkedCertificate(pem, source)),
        secrets: [
          ...(a.secrets ?? []).map((plain) => ({ plain })),
          ...(a.secretHashes ?? []).map((h) => ({ hash: h.hash, hint: h.hint ?? null })),
        ],
      })),
      policies: (t.policies ?? []).map((p) => ({
        name: p.name,
        appIds: p.appIds.map((id) => id.toLowerCase()),
        users: (p.users ?? []).map((id) => id.toLowerCase()),
        global: p.global ?? false,
      })),
      applicationAccessPolicies: (t.applicationAccessPolicies ?? []).map((p) => {
        if (p.scope === 'global') return { appId: p.appId, users: 'global' as const };
        if (!p.users) throw new ConfigError(`directory file ${source}: policy for app ${p.appId} needs "users" or "scope":"global"`);
        return { appId: p.appId, users: p.users };
      }),
    })),
  };
}

function checkedCertificate(pem: string, source: string): string {
  try {
    certificateThumbprint(pem);
  } catch (error) {
    throw new ConfigError(`directory file ${source}: a certificate is not a valid PEM certificate (${(error as Error).message})`);
  }
  return pem;
}

function credential(plain: string | undefined, hash: string | undefined): { password?: SeedCredential } {
  if (plain !== undefined) return { password: { plain } };
  return hash === undefined ? {} : { password: { hash, hint: null } };
}

export async function loadDirectoryFile(path: string): Promise<DirectorySeed> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read directory file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return parseDirectory(text, path);
}

