// The live request log (this server process's), filtered, refreshed on demand or every 2 seconds.
import { admin, queryString } from './api.js';
import { attempt, busy, el, fillRows, jsonToggle, say, time } from './dom.js';

const COLUMNS = 9;
const POLL_MS = 2000;
const SHOWN = 200;

export function requestsSection() {
  const form = document.getElementById('request-filters');
  const table = document.getElementById('requests-table');
  const status = document.getElementById('requests-status');
  const auto = document.getElementById('requests-auto');
  let timer;
  let visible = false;

  function row(entry, index) {
    const [toggle, details] = jsonToggle(entry, COLUMNS, `request-json-${index}`);
    const tr = el(
      'tr',
      {},
      el('td', {}, time(entry.time)),
      el('td', {}, entry.method),
      el('td', { class: 'path' }, entry.path),
      el('td', {}, entry.status === 0 ? 'dropped' : String(entry.status)),
      el('td', {}, String(entry.durationMs)),
      el('td', {}, entry.tenant ?? ''),
      el('td', {}, entry.app ?? ''),
      el('td', {}, entry.user ? (entry.user.userPrincipalName ?? entry.user.id) : ''),
      el('td', {}, toggle),
    );
    return [tr, details];
  }

  async function load() {
    await busy(table, () =>
      attempt(status, async () => {
        const filters = Object.fromEntries(new FormData(form));
        const result = await admin('GET', `/requests${queryString({ ...filters, limit: SHOWN })}`);
        fillRows(table, result.value.flatMap(row), 'No requests match.');
        say(status, `${result.value.length} ${result.value.length === 1 ? 'request' : 'requests'}, as of ${new Date().toLocaleTimeString()}.`);
      }),
    );
  }

  function schedule() {
    clearTimeout(timer);
    if (visible && auto.checked) timer = setTimeout(() => void load().then(schedule), POLL_MS);
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void load();
  });
  document.getElementById('requests-refresh').addEventListener('click', () => void load());
  auto.addEventListener('change', schedule);

  return {
    async show() {
      visible = true;
      await load();
      schedule();
    },
    hide() {
      visible = false;
      clearTimeout(timer);
    },
  };
}
