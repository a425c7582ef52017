// The join page's script and style sheet, served as files of this server (the page's CSP allows no
// inline script or style). Kept as text in a module so that dist/ holds them without a copy step.
// The script only ever writes text (textContent), never markup.

export const JOIN_PAGE_SCRIPT = String.raw`'use strict';
(() => {
  // Times arrive as ISO instants; shown in the viewer's own time zone and language.
  const format = new Intl.DateTimeFormat(undefined, {
    weekday: 'long', year: 'numeric', month: 'long', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short',
  });
  for (const element of document.querySelectorAll('time[data-local]')) {
    const date = new Date(element.getAttribute('datetime'));
    if (!Number.isNaN(date.getTime())) element.textContent = format.format(date);
  }
  const zone = document.getElementById('time-zone');
  if (zone) zone.textContent = 'Times are shown in your time zone (' + Intl.DateTimeFormat().resolvedOptions().timeZone + ').';

  const form = document.getElementById('join-form');
  if (!form) return;
  const nameRow = document.getElementById('name-row');
  const nameField = document.getElementById('display-name');
  const signedIn = document.getElementById('signed-in');
  const status = document.getElementById('attendance-status');
  const leaveButton = document.getElementById('leave');
  const problem = document.getElementById('join-error');

  // A user's token comes in the fragment (#token=…): it never reaches a server log, and it leaves
  // the address bar at once.
  let token = new URLSearchParams(location.hash.slice(1)).get('token') || null;
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);

  const base = location.pathname.replace(/\/+$/, '');
  let attendanceId = null;

  const call = async (name, method, body) => {
    const headers = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = 'Bearer ' + token;
    const response = await fetch(base + '/' + name + location.search, {
      method, headers, credentials: 'omit', body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error((answer.error && answer.error.message) || 'The server answered ' + response.status + '.');
    return answer;
  };
  const show = (element, visible) => { element.hidden = !visible; };
  const fail = (error) => { problem.textContent = error.message; };

  const asGuest = () => {
    token = null;
    show(signedIn, false);
    show(nameRow, true);
    nameField.required = true;
  };
  if (token) {
    show(nameRow, false);
    nameField.required = false;
    call('viewer', 'GET').then(
      (viewer) => {
        signedIn.textContent = 'Signed in as ' + viewer.displayName + (viewer.emailAddress ? ' (' + viewer.emailAddress + ')' : '') + '.';
        show(signedIn, true);
      },
      (error) => {
        asGuest();
        problem.textContent = 'Your sign-in token was not accepted (' + error.message + ') You can join as a guest.';
      },
    );
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    problem.textContent = '';
    try {
      const joined = await call('join', 'POST', token ? {} : { displayName: nameField.value });
      attendanceId = joined.attendanceId;
      status.textContent = joined.message;
      show(form, false);
      show(leaveButton, true);
      leaveButton.focus();
    } catch (error) {
      fail(error);
    }
  });

  leaveButton.addEventListener('click', async () => {
    problem.textContent = '';
    try {
      const left = await call('leave', 'POST', { attendanceId });
      attendanceId = null;
      status.textContent = left.message;
      show(leaveButton, false);
      show(form, true);
    } catch (error) {
      fail(error);
    }
  });
})();
`;

export const JOIN_PAGE_STYLES = `:root {
  color-scheme: light dark;
  --accent: #4f52b2;
  --muted: #616161;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  line-height: 1.5;
}
[hidden] { display: none !important; }
body { margin: 0; padding: 2rem 1rem; background: Canvas; color: CanvasText; }
main { max-width: 40rem; margin: 0 auto; }
.kicker { margin: 0; color: var(--muted); font-size: 0.9rem; text-transform: uppercase; letter-spacing: 0.05em; }
h1 { margin: 0.25rem 0; font-size: 1.75rem; overflow-wrap: anywhere; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 0.5rem; }
section { border-top: 1px solid color-mix(in srgb, CanvasText 15%, transparent); margin-top: 1rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
form { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: end; }
label { display: block; font-weight: 600; }
input { font: inherit; padding: 0.4rem 0.5rem; min-width: 16rem; }
button { font: inherit; padding: 0.45rem 1.25rem; border: 0; border-radius: 0.25rem; background: var(--accent); color: white; cursor: pointer; }
button:focus-visible, input:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
[role="status"]:empty, [role="alert"]:empty { display: none; }
[role="status"] { font-weight: 600; }
[role="alert"] { color: #c4314b; }
.invalid { text-align: center; margin-top: 4rem; }
`;
