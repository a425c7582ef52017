// The join page in Debian's Chromium (playwright-core), each step saved as a screenshot: a meeting
// made through the Graph SDK opened at its joinWebUrl; joining and leaving on the server's virtual
// clock, read back as an attendance report through the SDK; hostile meeting data staying text; and
// the 404 page of unknown and expired links.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { OnlineMeeting } from '@microsoft/msgraph-sdk/models/index.js';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser, screenshot } from './helpers/browser.js';
import { ALICE, BOB, DIRECTORY } from './helpers/fixtures.js';
import { graphSdk } from './helpers/graph-client.js';
import { type RunningServer, startServer } from './helpers/server.js';
import { TestIssuer } from './helpers/test-issuer.js';

let issuer: TestIssuer;
let server: RunningServer;
let browser: Browser;

const ARTIFACTS = 'OnlineMeetings.ReadWrite OnlineMeetingArtifact.Read.All';
const START = '2030-05-01T09:00:00.000Z';
const END = '2030-05-01T10:00:00.000Z';

before(async () => {
  issuer = await TestIssuer.start();
  server = await startServer({ issuer, directory: DIRECTORY });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
  await issuer?.stop();
});

async function setClock(now: string) {
  const response = await server.admin('PUT', '/clock', { now, frozen: true });
  assert.equal(response.status, 200, await response.text());
}

const aliceSdk = () => graphSdk(server.url, () => issuer.userToken(ALICE, ARTIFACTS));

async function createMeeting(body: Partial<OnlineMeeting>): Promise<OnlineMeeting & { id: string; joinWebUrl: string }> {
  const meeting = await aliceSdk().client.me.onlineMeetings.post({ startDateTime: new Date(START), endDateTime: new Date(END), ...body });
  assert.ok(meeting?.id && meeting.joinWebUrl, 'the SDK returned no meeting');
  return meeting as OnlineMeeting & { id: string; joinWebUrl: string };
}

/** A fresh browser context (own time zone), with a guard that fails the test on any dialog. */
async function openPage(options: { timezoneId?: string } = {}): Promise<{ context: BrowserContext; page: Page; dialogs: string[] }> {
  const context = await browser.newContext({ locale: 'en-US', timezoneId: options.timezoneId ?? 'UTC' });
  const page = await context.newPage();
  const dialogs: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  return { context, page, dialogs };
}

const normalize = (text: string | null) => (text ?? '').replace(/\s+/g, ' ').trim();

test('a meeting created through the Graph SDK opens at its joinWebUrl: subject, organizer, local times, dial-in, lobby', async () => {
  await setClock('2030-05-01T08:00:00Z');
  const meeting = await createMeeting({ subject: 'Design review', lobbyBypassSettings: { scope: 'invited', isDialInBypassEnabled: true } });
  const { context, page } = await openPage({ timezoneId: 'Asia/Tokyo' });
  try {
    const response = await page.goto(meeting.joinWebUrl);
    assert.equal(response?.status(), 200);
    const csp = response?.headers()['content-security-policy'] ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline/);

    await page.getByRole('heading', { level: 1, name: 'Design review' }).waitFor();
    assert.equal(normalize(await page.locator('#organizer').textContent()), ALICE.name);
    // The script formats the instants in the browser's zone (Tokyo is UTC+9, no daylight saving).
    const expected = new Intl.DateTimeFormat('en-US', {
      weekday: 'long', year: 'numeric', month: 'long', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short', timeZone: 'Asia/Tokyo',
    });
    await page.getByText('Times are shown in your time zone (Asia/Tokyo).').waitFor();
    const times = page.locator('time[data-local]');
    assert.equal(normalize(await times.nth(0).textContent()), normalize(expected.format(new Date(START))));
    assert.equal(normalize(await times.nth(1).textContent()), normalize(expected.format(new Date(END))));
    assert.match(normalize(await times.nth(0).textContent()), /6:00 PM GMT\+9/);

    // Dial-in details and the lobby rules the meeting carries.
    const conferenceId = meeting.audioConferencing?.conferenceId;
    assert.ok(conferenceId);
    await page.getByText(`${conferenceId}#`, { exact: true }).waitFor();
    await page.getByRole('link', { name: meeting.audioConferencing!.tollNumber! }).waitFor();
    await page.getByText('People invited to the meeting join directly; everyone else waits in the lobby.').waitFor();
    await page.getByText('People who dial in by phone skip the lobby.').waitFor();
    await page.getByLabel('Your name').waitFor();
    await screenshot(page, 'join-page-meeting-details');
  } finally {
    await context.close();
  }
});

test('join and leave on the virtual clock; past the end, the attendance report read through the SDK holds that interval', async () => {
  await setClock('2030-05-01T08:00:00Z');
  const meeting = await createMeeting({ subject: 'Patient consult', lobbyBypassSettings: { scope: 'everyone' } });
  const { context, page } = await openPage();
  try {
    await setClock('2030-05-01T09:05:00Z');
    await page.goto(meeting.joinWebUrl);
    await page.getByLabel('Your name').fill('Pat Guest');
    await screenshot(page, 'join-page-before-join');
    await page.getByRole('button', { name: 'Join' }).click();
    const status = page.getByRole('status');
    await status.getByText('You are in the meeting.', { exact: false }).waitFor();
    assert.match(normalize(await status.textContent()), /You joined as Pat Guest \(presenter\)/);
    assert.equal(await page.getByRole('button', { name: 'Join' }).isVisible(), false, 'Join is offered while in the meeting');
    await screenshot(page, 'join-page-joined');

    const reports = aliceSdk().client.me.onlineMeetings.byOnlineMeetingId(meeting.id).attendanceReports;
    // Before the meeting's end there is no report yet.
    assert.deepEqual((await reports.get())?.value, []);

    const advanced = await server.admin('POST', '/clock/advance', { by: 'PT25M' });
    assert.equal(advanced.status, 200);
    await page.getByRole('button', { name: 'Leave' }).click();
    await status.getByText('You left the meeting after 1500 seconds.').waitFor();
    await page.getByRole('button', { name: 'Join' }).waitFor();
    await screenshot(page, 'join-page-left');

    await setClock('2030-05-01T10:30:00Z');
    const list = await reports.get();
    assert.equal(list?.value?.length, 1);
    const reportId = list!.value![0]!.id!;
    const report = await reports.byMeetingAttendanceReportId(reportId).get({ queryParameters: { expand: ['attendanceRecords'] } });
    assert.equal(report?.totalParticipantCount, 1);
    assert.equal(report?.meetingStartDateTime?.toISOString(), '2030-05-01T09:05:00.000Z');
    assert.equal(report?.meetingEndDateTime?.toISOString(), '2030-05-01T09:30:00.000Z');
    const records = (await reports.byMeetingAttendanceReportId(reportId).attendanceRecords.get())?.value ?? [];
    assert.deepEqual(report?.attendanceRecords?.map((r) => r.id), records.map((r) => r.id));
    assert.equal(records.length, 1);
    const [record] = records;
    assert.equal(record!.identity?.displayName, 'Pat Guest');
    assert.equal(record!.role, 'Presenter');
    assert.equal(record!.totalAttendanceInSeconds, 1500);
    assert.deepEqual(
      record!.attendanceIntervals?.map((i) => [i.joinDateTime?.toISOString(), i.leaveDateTime?.toISOString(), i.durationInSeconds]),
      [['2030-05-01T09:05:00.000Z', '2030-05-01T09:30:00.000Z', 1500]],
    );
  } finally {
    await context.close();
  }
});

test('a user token in the fragment signs the viewer in; the lobby keeps guests out of an organization-only meeting', async () => {
  await setClock('2030-05-01T08:00:00Z');
  // Lobby: organization (the default); presenters: the organization's people.
  const meeting = await createMeeting({ subject: 'Team sync', allowedPresenters: 'organization' });
  const bob = await openPage();
  const guest = await openPage();
  try {
    const token = await issuer.userToken(BOB);
    await bob.page.goto(`${meeting.joinWebUrl}#token=${token}`);
    await bob.page.getByText(`Signed in as ${BOB.name} (${BOB.upn}).`).waitFor();
    assert.doesNotMatch(bob.page.url(), /token/, 'the token stays in the address bar');
    assert.equal(await bob.page.getByLabel('Your name').isVisible(), false);
    await screenshot(bob.page, 'join-page-signed-in');
    await bob.page.getByRole('button', { name: 'Join' }).click();
    await bob.page.getByRole('status').getByText(`You are in the meeting. You joined as ${BOB.name} (presenter).`).waitFor();
    await screenshot(bob.page, 'join-page-signed-in-joined');

    await guest.page.goto(meeting.joinWebUrl);
    await guest.page.getByLabel('Your name').fill('Walk-in');
    await guest.page.getByRole('button', { name: 'Join' }).click();
    await guest.page.getByRole('status').getByText('You are waiting in the lobby.', { exact: false }).waitFor();
    assert.match(normalize(await guest.page.getByRole('status').textContent()), /\(attendee\)/);
    await screenshot(guest.page, 'join-page-guest-in-lobby');
  } finally {
    await bob.context.close();
    await guest.context.close();
  }
});

test('a subject with <script> and <img onerror> renders as text and runs nothing; so does a hostile guest name', async () => {
  await setClock('2030-05-01T08:00:00Z');
  const subject = `Q3 <script>window.__pwned = 'script'</script><img src="x" onerror="window.__pwned = 'img'; alert('img')"> "quoted" & done`;
  const organizerName = `<img src=x onerror="alert('organizer')">Mallory`;
  const mallory = { tenantId: ALICE.tenantId, id: '3a110000-0000-4000-8000-0000000000aa', upn: 'mallory@contoso.example', name: organizerName };
  const { client } = graphSdk(server.url, () => issuer.userToken(mallory));
  const meeting = await client.me.onlineMeetings.post({ subject, startDateTime: new Date(START), endDateTime: new Date(END), lobbyBypassSettings: { scope: 'everyone' } });
  assert.ok(meeting?.joinWebUrl);
  const { context, page, dialogs } = await openPage();
  try {
    await page.goto(meeting.joinWebUrl);
    const heading = page.getByRole('heading', { level: 1 });
    assert.equal(await heading.textContent(), subject);
    assert.equal(await page.locator('#organizer').textContent(), organizerName);
    assert.equal(await page.title(), `${subject} | Join meeting`);
    assert.equal(await page.locator('main img').count(), 0, 'meeting data became an element');
    assert.deepEqual(
      await page.locator('script').evaluateAll((scripts) => scripts.map((s) => (s as unknown as { src: string }).src.replace(/^.*\//, ''))),
      ['join.js'],
    );

    const hostileName = `<img src=y onerror="window.__pwned = 'name'">`;
    await page.getByLabel('Your name').fill(hostileName);
    await page.getByRole('button', { name: 'Join' }).click();
    await page.getByRole('status').getByText(`You joined as ${hostileName} (presenter).`, { exact: false }).waitFor();
    assert.equal(await page.locator('main img').count(), 0);
    assert.equal(await page.evaluate(() => (globalThis as { __pwned?: string }).__pwned), undefined);
    assert.deepEqual(dialogs, []);
    await screenshot(page, 'join-page-hostile-subject-as-text');
  } finally {
    await context.close();
  }
});

test('an unknown link and an expired meeting get the "this meeting link is not valid" page with 404', async () => {
  await setClock('2030-05-01T08:00:00Z');
  const meeting = await createMeeting({ subject: 'Soon gone' });
  const { context, page } = await openPage();
  try {
    const url = new URL(meeting.joinWebUrl);
    const unknown = `${url.origin}${url.pathname.replace(/meeting_[^/]+?%40/, 'meeting_bm90IGEgbWVldGluZw%3d%3d%40')}${url.search}`;
    assert.notEqual(unknown, meeting.joinWebUrl);
    const unknownResponse = await page.goto(unknown);
    assert.equal(unknownResponse?.status(), 404);
    await page.getByRole('heading', { name: 'This meeting link is not valid' }).waitFor();
    assert.equal(await page.getByLabel('Your name').count(), 0);
    await screenshot(page, 'join-page-unknown-link');

    // Still valid a day after its end; gone once its expiry (end + 60 days) has passed on the server's clock.
    await setClock('2030-05-02T10:00:00Z');
    assert.equal((await page.goto(meeting.joinWebUrl))?.status(), 200);
    await page.getByRole('heading', { level: 1, name: 'Soon gone' }).waitFor();
    await setClock('2030-07-01T10:00:00Z');
    const expired = await page.goto(meeting.joinWebUrl);
    assert.equal(expired?.status(), 404);
    await page.getByRole('heading', { name: 'This meeting link is not valid' }).waitFor();
    await screenshot(page, 'join-page-expired-link');
  } finally {
    await context.close();
  }
});
