// The console's sections, one shown at a time, chosen by the address's #fragment.
import { clockSection } from './clock.js';
import { directorySection } from './directory.js';
import { faultsSection } from './faults.js';
import { meetingsSection } from './meetings.js';
import { requestsSection } from './requests.js';

const sections = {
  meetings: meetingsSection(),
  directory: directorySection(),
  requests: requestsSection(),
  faults: faultsSection(),
  clock: clockSection(),
};
const DEFAULT = 'meetings';

function route({ focus }) {
  const wanted = location.hash.slice(1);
  const current = Object.hasOwn(sections, wanted) ? wanted : DEFAULT;
  for (const [name, section] of Object.entries(sections)) {
    const element = document.getElementById(name);
    const shown = name === current;
    if (!shown && !element.hidden) section.hide?.();
    element.hidden = !shown;
  }
  for (const anchor of document.querySelectorAll('nav a')) {
    if (anchor.getAttribute('href') === `#${current}`) anchor.setAttribute('aria-current', 'page');
    else anchor.removeAttribute('aria-current');
  }
  document.title = `${document.getElementById(`${current}-heading`).textContent} · graph-meetings console`;
  // Keyboard and screen-reader users land on the section they chose.
  if (focus) document.getElementById(`${current}-heading`).focus();
  void sections[current].show();
}

window.addEventListener('hashchange', () => route({ focus: true }));
route({ focus: false });
