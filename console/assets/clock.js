// The virtual clock: show, set (and freeze), advance by an ISO 8601 duration, back to real time.
import { admin } from './api.js';
import { attempt, say } from './dom.js';

export function clockSection() {
  const status = document.getElementById('clock-status');
  const now = document.getElementById('clock-now');
  const frozen = document.getElementById('clock-frozen');
  const setForm = document.getElementById('clock-set');
  const advanceForm = document.getElementById('clock-advance');

  function show(clock) {
    now.textContent = `${clock.now} (${new Date(clock.now).toLocaleString()} here)`;
    frozen.textContent = clock.frozen ? 'Yes' : 'No';
    document.getElementById('clock-freeze').checked = clock.frozen;
  }

  async function change(method, path, body, done) {
    let clock;
    if (await attempt(status, async () => (clock = await admin(method, path, body)))) {
      show(clock);
      say(status, done);
    }
  }

  setForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const time = document.getElementById('clock-time').value.trim();
    const body = { frozen: document.getElementById('clock-freeze').checked, ...(time ? { now: time } : {}) };
    void change('PUT', '/clock', body, 'Clock set.');
  });
  advanceForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void change('POST', '/clock/advance', { by: document.getElementById('clock-by').value.trim() }, 'Clock advanced.');
  });
  document.getElementById('clock-reset').addEventListener('click', () => void change('DELETE', '/clock', undefined, 'Back to real time.'));
  document.getElementById('clock-refresh').addEventListener('click', () => void load());

  async function load() {
    await attempt(status, async () => show(await admin('GET', '/clock')));
  }
  return { show: load };
}
