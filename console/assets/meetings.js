// Meetings: search by subject, externalId, organizer or join URL; each with its JSON and join link.
import { admin, queryString } from './api.js';
import { attempt, busy, el, fillRows, jsonToggle, link, say, time } from './dom.js';

const COLUMNS = 8;

export function meetingsSection() {
  const form = document.getElementById('meeting-search');
  const tenantSelect = document.getElementById('meeting-tenant');
  const table = document.getElementById('meetings-table');
  const status = document.getElementById('meetings-status');
  const tenantNames = new Map();

  function row(item, index) {
    const organizer = item.organizerDisplayName
      ? `${item.organizerDisplayName} (${item.organizerUserPrincipalName ?? item.organizerId})`
      : (item.organizerUserPrincipalName ?? item.organizerId);
    const [toggle, details] = jsonToggle(item.meeting, COLUMNS, `meeting-json-${index}`);
    const tr = el(
      'tr',
      {},
      el('td', {}, item.subject ?? ''),
      el('td', {}, organizer),
      el('td', {}, item.externalId ?? ''),
      el('td', {}, time(item.startDateTime)),
      el('td', {}, time(item.endDateTime)),
      el('td', { title: item.tenantId }, tenantNames.get(item.tenantId) ?? item.tenantId),
      el('td', {}, item.expired ? 'Expired' : 'Live'),
      el('td', { class: 'actions' }, link(item.joinWebUrl, 'Join link', { target: '_blank', rel: 'noopener noreferrer' }), toggle),
    );
    return [tr, details];
  }

  async function loadTenants() {
    const directory = await admin('GET', '/directory');
    const chosen = tenantSelect.value;
    tenantSelect.replaceChildren(el('option', { value: '' }, 'All tenants'));
    for (const tenant of directory.tenants) {
      tenantNames.set(tenant.id, tenant.displayName ?? tenant.id);
      tenantSelect.append(el('option', { value: tenant.id }, tenant.displayName ? `${tenant.displayName} (${tenant.id})` : tenant.id));
    }
    tenantSelect.value = chosen;
  }

  async function search() {
    say(status, 'Searching…');
    await busy(table, () =>
      attempt(status, async () => {
        const data = new FormData(form);
        const result = await admin('GET', `/meetings${queryString({ search: data.get('search'), tenant: data.get('tenant') })}`);
        fillRows(table, result.value.flatMap(row), 'No meetings found.');
        const count = result.value.length;
        say(status, count === 1 ? '1 meeting.' : `${count} meetings.`);
      }),
    );
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void search();
  });

  return {
    async show() {
      await attempt(status, loadTenants);
      await search();
    },
  };
}
