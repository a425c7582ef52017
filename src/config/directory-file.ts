// --directory FILE: tenants, users and application access policies to seed at start-up.
import { readFile } from 'node:fs/promises';
import { Ajv } from 'ajv';
import type { DirectorySeed } from '../domain/directory.js';
import { ConfigError } from './config.js';

const guid = { type: 'string', pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' };

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
              properties: { id: guid, userPrincipalName: { type: 'string', minLength: 1 }, displayName: { type: 'string' } },
            },
          },
          applicationAccessPolicies: {
            type: 'array',
            items: {
              type: 'object',
              required: ['appId'],
              properties: {
                appId: guid,
                users: { type: 'array', items: guid },
                scope: { const: 'global' },
              },
            },
          },
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
    users?: Array<{ id: string; userPrincipalName?: string; displayName?: string }>;
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
  if (!validate(raw)) {
    const e = validate.errors![0]!;
    throw new ConfigError(`directory file ${source} is malformed: ${e.instancePath || '(root)'} ${e.message}`);
  }
  const dir = raw as unknown as RawDirectory;
  return {
    tenants: dir.tenants.map((t) => ({
      id: t.id,
      displayName: t.displayName ?? null,
      users: (t.users ?? []).map((u) => ({
        id: u.id,
        userPrincipalName: u.userPrincipalName ?? null,
        displayName: u.displayName ?? null,
      })),
      applicationAccessPolicies: (t.applicationAccessPolicies ?? []).map((p) => {
        if (p.scope === 'global') return { appId: p.appId, users: 'global' as const };
        if (!p.users) throw new ConfigError(`directory file ${source}: policy for app ${p.appId} needs "users" or "scope":"global"`);
        return { appId: p.appId, users: p.users };
      }),
    })),
  };
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

