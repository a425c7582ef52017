// The join page's HTML. Every meeting value goes through the `html` tag, so it is text, never markup;
// script and styles are separate files (assets.ts) under the page's CSP.
import { parseInstant } from '../../domain/instant.js';
import { lobbyBypassDescription, presentersDescription } from '../../domain/lobby.js';
import type { Meeting } from '../../domain/meeting.js';
import { type Html, html } from '../html.js';

/** Where the page's script and style sheet are served, below the public URL's path. */
export const JOIN_ASSETS_PATH = '/join-page';
export const JOIN_SCRIPT_FILE = 'join.js';
export const JOIN_STYLES_FILE = 'join.css';

function document(title: string, assetsBase: string, body: Html, withScript: boolean): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="${assetsBase}/${JOIN_STYLES_FILE}">
${withScript ? html`<script src="${assetsBase}/${JOIN_SCRIPT_FILE}" defer></script>` : null}
</head>
<body>
${body}
</body>
</html>
`.markup;
}

/** An instant as the page ships it: ISO in the datetime attribute (the script shows it in the viewer's zone), UTC as fallback text. */
function localTime(stamp: string): Html {
  const instant = parseInstant(stamp);
  if (!instant) return html`${stamp}`;
  const iso = new Date(instant.ms).toISOString();
  return html`<time datetime="${iso}" data-local>${iso.slice(0, 16).replace('T', ' ')} UTC</time>`;
}

/** `tel:` target: the number's digits (and +), then the conference id, as Teams invitations dial. */
function telHref(number: string, conferenceId: string): string {
  return `tel:${number.replace(/[^\d+]/g, '')},,${conferenceId.replace(/\D/g, '')}#`;
}

function httpUrl(text: string): string | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

function dialIn(meeting: Meeting): Html {
  const { audioConferencing: audio, joinMeetingIdSettings: joinId } = meeting.properties;
  const toll = audio.tollNumbers.length > 0 ? audio.tollNumbers : [audio.tollNumber];
  const tollFree = audio.tollFreeNumbers.length > 0 ? audio.tollFreeNumbers : audio.tollFreeNumber ? [audio.tollFreeNumber] : [];
  const numbers = (list: string[], kind: string) =>
    list.map((n) => html`<dt>${kind}</dt><dd><a href="${telHref(n, audio.conferenceId)}">${n}</a></dd>`);
  const dialinUrl = httpUrl(audio.dialinUrl);
  const passcode = joinId.isPasscodeRequired
    ? html`<dd>Required${joinId.passcode ? html`: <span id="passcode">${joinId.passcode}</span>` : null}</dd>`
    : html`<dd>Not required</dd>`;
  return html`<section aria-labelledby="dial-in-heading">
<h2 id="dial-in-heading">Join by phone or meeting ID</h2>
<dl>
${numbers(toll, 'Phone number (toll)')}
${numbers(tollFree, 'Phone number (toll-free)')}
<dt>Phone conference ID</dt><dd>${audio.conferenceId}#</dd>
<dt>Meeting ID</dt><dd>${joinId.joinMeetingId.replace(/(\d{3})(?=\d)/g, '$1 ')}</dd>
<dt>Passcode</dt>${passcode}
${dialinUrl ? html`<dt>Local numbers</dt><dd><a href="${dialinUrl}">Find a local number</a></dd>` : null}
</dl>
</section>`;
}

function lobby(meeting: Meeting): Html {
  const { lobbyBypassSettings, allowedPresenters } = meeting.properties;
  return html`<section aria-labelledby="lobby-heading">
<h2 id="lobby-heading">Lobby and presenters</h2>
<p id="lobby-bypass">${lobbyBypassDescription(lobbyBypassSettings.scope)}</p>
<p>${lobbyBypassSettings.isDialInBypassEnabled ? 'People who dial in by phone skip the lobby.' : 'People who dial in by phone wait in the lobby.'}</p>
<p>${presentersDescription(allowedPresenters)}</p>
</section>`;
}

const joinForm = html`<section aria-labelledby="join-heading">
<h2 id="join-heading">Join the meeting</h2>
<p id="signed-in" hidden></p>
<form id="join-form">
<div id="name-row">
<label for="display-name">Your name</label>
<input id="display-name" name="displayName" autocomplete="name" maxlength="256" required>
</div>
<button type="submit">Join</button>
</form>
<p id="attendance-status" role="status" aria-live="polite"></p>
<button type="button" id="leave" hidden>Leave</button>
<p id="join-error" role="alert"></p>
<noscript><p>Joining needs JavaScript.</p></noscript>
</section>`;

export function organizerName(meeting: Meeting): string {
  const organizer = meeting.properties.participants.organizer;
  return organizer.identity.user.displayName ?? organizer.upn ?? 'the organizer';
}

export function renderJoinPage(meeting: Meeting, assetsBase: string): string {
  const p = meeting.properties;
  const subject = p.subject ?? 'Microsoft Teams meeting';
  const body = html`<main>
<header>
<p class="kicker">Microsoft Teams meeting</p>
<h1>${subject}</h1>
<p>Organized by <span id="organizer">${organizerName(meeting)}</span></p>
</header>
<section aria-labelledby="when-heading">
<h2 id="when-heading">When</h2>
<dl>
<dt>Starts</dt><dd>${localTime(p.startDateTime)}</dd>
<dt>Ends</dt><dd>${localTime(p.endDateTime)}</dd>
</dl>
<p id="time-zone">Times are shown in UTC.</p>
</section>
${dialIn(meeting)}
${lobby(meeting)}
${joinForm}
</main>`;
  return document(`${subject} | Join meeting`, assetsBase, body, true);
}

export function renderInvalidLinkPage(assetsBase: string): string {
  const body = html`<main class="invalid">
<h1>This meeting link is not valid</h1>
<p>The meeting does not exist, was deleted, or has expired. Ask the organizer for a new link.</p>
</main>`;
  return document('This meeting link is not valid', assetsBase, body, false);
}
