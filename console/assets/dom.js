// Building the page from data: text only (textContent), never HTML, so nothing in the data runs.

/** An element with attributes (strings) and children (nodes or text). */
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null && value !== false) element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) element.append(child instanceof Node ? child : document.createTextNode(child ?? ''));
  return element;
}

/** A link only to an http(s) address (never javascript: or data:); otherwise the text. */
export function link(href, text, attributes = {}) {
  try {
    const url = new URL(href, location.href);
    if (url.protocol === 'http:' || url.protocol === 'https:') return el('a', { href: url.href, ...attributes }, text);
  } catch {
    // not a URL
  }
  return document.createTextNode(text);
}

/** A <time> showing an ISO date-time in the viewer's time zone. */
export function time(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return document.createTextNode(iso ?? '');
  return el('time', { datetime: iso, title: iso }, date.toLocaleString());
}

/** Replaces the table body's rows; a single row says so when there are none. */
export function fillRows(table, rows, emptyText) {
  const body = table.tBodies[0];
  const columns = table.tHead.rows[0].cells.length;
  body.replaceChildren(...(rows.length > 0 ? rows : [el('tr', {}, el('td', { colspan: columns, class: 'empty' }, emptyText))]));
}

/**
 * A "Show JSON" button for a table row: toggles a row under it holding the value as indented JSON.
 * Returns [button, detailsRow].
 */
export function jsonToggle(value, columns, id) {
  const pre = el('pre', { class: 'json' });
  pre.textContent = JSON.stringify(value, null, 2);
  const details = el('tr', { id, class: 'details', hidden: true }, el('td', { colspan: columns }, pre));
  const button = el('button', { type: 'button', 'aria-expanded': 'false', 'aria-controls': id }, 'Show JSON');
  button.addEventListener('click', () => {
    const open = details.hidden;
    details.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
    button.textContent = open ? 'Hide JSON' : 'Show JSON';
  });
  return [button, details];
}

/** Marks the table busy (aria-busy) while `work` runs, so assistive technology (and tests) know when it is current. */
export async function busy(table, work) {
  table.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    table.setAttribute('aria-busy', 'false');
  }
}

/** Shows a message in a status region; errors are announced at once (role=alert). */
export function say(region, text, { error = false } = {}) {
  region.textContent = text;
  region.classList.toggle('error', error);
  region.setAttribute('role', error ? 'alert' : 'status');
}

/** Runs an action, showing its failure in `region`; true when it succeeded. */
export async function attempt(region, action) {
  try {
    await action();
    return true;
  } catch (error) {
    say(region, error.message, { error: true });
    return false;
  }
}
