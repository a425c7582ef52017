// Fault rules: list, add (JSON), delete one, clear all.
import { admin } from './api.js';
import { attempt, el, fillRows, say } from './dom.js';

export function faultsSection() {
  const table = document.getElementById('faults-table');
  const status = document.getElementById('faults-status');
  const form = document.getElementById('fault-add');
  const ruleField = document.getElementById('fault-rule');

  function row(rule) {
    const { id, ...rest } = rule;
    const text = el('pre', { class: 'json' });
    text.textContent = JSON.stringify(rest, null, 2);
    const remove = el('button', { type: 'button', 'aria-label': `Delete fault ${id}` }, 'Delete');
    remove.addEventListener('click', async () => {
      if (await attempt(status, () => admin('DELETE', `/faults/${encodeURIComponent(id)}`))) {
        await load();
        say(status, `Fault ${id} deleted.`);
      }
    });
    return el('tr', {}, el('td', {}, id), el('td', {}, text), el('td', {}, remove));
  }

  async function load() {
    const result = await admin('GET', '/faults');
    fillRows(table, result.value.map(row), 'No fault rules.');
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    let rule;
    try {
      rule = JSON.parse(ruleField.value);
    } catch (error) {
      say(status, `The rule is not valid JSON: ${error.message}`, { error: true });
      return;
    }
    let added;
    if (await attempt(status, async () => (added = await admin('POST', '/faults', rule)))) {
      await attempt(status, load);
      say(status, `Fault ${added.id} added.`);
    }
  });
  document.getElementById('faults-clear').addEventListener('click', async () => {
    if (await attempt(status, () => admin('DELETE', '/faults'))) {
      await attempt(status, load);
      say(status, 'All fault rules cleared.');
    }
  });

  return { show: () => attempt(status, load) };
}
