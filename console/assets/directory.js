// Tenants, users, apps and access policies.
import { admin } from './api.js';
import { attempt, el, fillRows, say, time } from './dom.js';

export function directorySection() {
  const status = document.getElementById('directory-status');
  const table = (id) => document.getElementById(id);

  async function load() {
    say(status, 'Loading…');
    const directory = await admin('GET', '/directory');
    const tenantName = new Map(directory.tenants.map((t) => [t.id, t.displayName ?? t.id]));
    const userName = new Map(directory.users.map((u) => [`${u.tenantId}/${u.id}`, u.userPrincipalName ?? u.displayName ?? u.id]));
    const tenantOf = (id) => tenantName.get(id) ?? id;

    fillRows(
      table('tenants-table'),
      directory.tenants.map((t) => el('tr', {}, el('td', {}, t.displayName ?? ''), el('td', {}, t.id), el('td', {}, String(t.users)), el('td', {}, String(t.meetings)))),
      'No tenants yet.',
    );
    fillRows(
      table('users-table'),
      directory.users.map((u) =>
        el('tr', {}, el('td', {}, u.displayName ?? ''), el('td', {}, u.userPrincipalName ?? ''), el('td', {}, u.id), el('td', { title: u.tenantId }, tenantOf(u.tenantId))),
      ),
      'No users yet.',
    );
    fillRows(
      table('apps-table'),
      directory.apps.map((a) =>
        el(
          'tr',
          {},
          el('td', {}, a.appId),
          el('td', {}, a.tenants.map(tenantOf).join(', ')),
          el('td', {}, String(a.accessPolicies)),
          el('td', {}, String(a.requestsSeen)),
          el('td', {}, a.lastSeen ? time(a.lastSeen) : ''),
        ),
      ),
      'No apps yet.',
    );
    fillRows(
      table('policies-table'),
      directory.accessPolicies.map((p) =>
        el(
          'tr',
          {},
          el('td', { title: p.tenantId }, tenantOf(p.tenantId)),
          el('td', {}, p.appId),
          el('td', {}, p.users === 'global' ? 'Every user of the tenant without a policy of their own (global)' : p.users.map((id) => userName.get(`${p.tenantId}/${id}`) ?? id).join(', ')),
        ),
      ),
      'No access policies.',
    );
    say(status, directory.truncated ? 'Showing the first 5000 users and grants only.' : '');
  }

  document.getElementById('directory-refresh').addEventListener('click', () => void attempt(status, load));
  return { show: () => attempt(status, load) };
}
