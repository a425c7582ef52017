// The web console in Debian's Chromium, reached through the link the real CLI server prints: sign-in
// (and refusal), meetings created through the Graph SDK found by search, hostile data shown as text,
// the request log with filters, faults and clock driven through the UI (checked through the control
// API), and a Content-Security-Policy without 'unsafe-inline' that the pages never violate.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { OnlineMeeting } from '@microsoft/msgraph-sdk/models/index.js';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { launchBrowser, screenshot } from './helpers/browser.js';
import { type CliServer, killAllChildren, startCliServer } from './helpers/cli.js';
import { ALICE, BOB, DIRECTORY } from './helpers/fixtures.js';
import { graphSdk } from './helpers/graph-client.js';
import { adminFetch, tempDir, writeDirectory } from './helpers/server.js';

type Json = Record<string, any>;
// What the callbacks run inside the page see; the test project compiles without the DOM library.
declare const document: any;
declare const window: any;

const CONSOLE_LINK = /^ {2}console: (http:\/\/\S+\/console\?key=\S+)$/m;
const HOSTILE_SUBJECT = `<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> & "quotes"`;

let server: CliServer;
let link: string;
let adminKey: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Every CSP violation and error the browser reported, from any page of the run. */
const violations: string[] = [];
const browserErrors: string[] = [];

const meetings: Record<'review' | 'standup' | 'hostile', OnlineMeeting> = {} as never;

const admin = async (method: string, path: string, body?: unknown) => adminFetch(server.url, method, path, body, adminKey);
const adminJson = async (method: string, path: string, body?: unknown): Promise<Json> => {
  const response = await admin(method, path, body);
  assert.ok(response.ok, `${method} ${path}: ${response.status}`);
  return (await response.json()) as Json;
};
const tokenFor = async (user: string) => (await adminJson('POST', '/tokens', { user })).access_token as string;
const sdkFor = (user: string) => graphSdk(server.url, () => tokenFor(user)).client;

before(async () => {
  const dir = tempDir();
  server = await startCliServer(['--port', '0', '--db', `sqlite:${join(dir, 'meetings.db')}`, '--directory', writeDirectory(dir, DIRECTORY)]);
  const printed = CONSOLE_LINK.exec(server.stdout());
  assert.ok(printed, `no console link in:\n${server.stdout()}`);
  link = printed[1]!;
  adminKey = new URL(link).searchParams.get('key')!;
  assert.ok(link.startsWith(`${server.url}/console?key=`));

  const alice = sdkFor(ALICE.upn);
  const start = new Date(Date.now() + 86_400_000);
  const end = new Date(start.getTime() + 3_600_000);
  meetings.review = (await alice.me.onlineMeetings.createOrGet.post({
    externalId: `console-review-${randomUUID()}`,
    subject: 'Quarterly review with Contoso',
    startDateTime: start,
    endDateTime: end,
  }))!;
  meetings.standup = (await sdkFor(BOB.upn).me.onlineMeetings.createOrGet.post({
    externalId: `console-standup-${randomUUID()}`,
    subject: 'Daily standup',
    startDateTime: start,
    endDateTime: end,
  }))!;
  meetings.hostile = (await alice.me.onlineMeetings.createOrGet.post({ externalId: `console-hostile-${randomUUID()}`, subject: HOSTILE_SUBJECT }))!;

  browser = await launchBrowser();
  context = await browser.newContext();
  // Reported from inside every page (an exposed binding is not subject to the page's CSP).
  await context.exposeBinding('reportViolation', (_source, text: string) => void violations.push(text));
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event: any) => {
      window.reportViolation(`${event.violatedDirective} ${event.blockedURI}`);
    });
  });
  page = await context.newPage();
  page.on('console', (message) => {
    if (/Content.Security.Policy/i.test(message.text())) violations.push(message.text());
    // The 4xx answers the tests ask for (a wrong key, a bad rule) are logged as failed loads.
    else if (message.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(message.text())) {
      browserErrors.push(message.text());
    }
  });
  page.on('pageerror', (error) => browserErrors.push(error.message));
});

after(async () => {
  await browser?.close();
  await server?.stop().catch(() => undefined);
  await killAllChildren();
});

/** Waits for `action` to fetch `path` below /__admin, then for the table to be current again. */
async function refreshes(table: Locator, path: string, action: () => Promise<void>) {
  await Promise.all([page.waitForResponse((response) => new URL(response.url()).pathname === `/__admin${path}`), action()]);
  await table.and(page.locator('[aria-busy="false"]')).waitFor();
}

/** The visible rows of a table's body, as the text of their cells. */
async function rowsOf(table: Locator): Promise<string[][]> {
  return table.locator('tbody tr:not([hidden])').evaluateAll((rows) =>
    rows.map((row: any) => [...row.cells].map((cell: any) => (cell.textContent as string | null) ?? '')),
  );
}

const meetingsTable = () => page.getByRole('table', { name: 'Meetings, newest first' });
const searchBox = () => page.getByRole('searchbox', { name: 'Search meetings' });

async function search(text: string) {
  await searchBox().fill(text);
  await refreshes(meetingsTable(), '/meetings', () => searchBox().press('Enter'));
}

async function assertShowsNoData() {
  const html = await page.content();
  for (const meeting of Object.values(meetings)) {
    assert.ok(!html.includes(meeting.id!), 'a meeting id is on the page');
    assert.ok(!html.includes(meeting.externalId!), 'an externalId is on the page');
  }
  assert.ok(!html.includes('Quarterly review'), 'a subject is on the page');
  assert.equal(await page.getByRole('table').count(), 0);
}

describe('the web console', () => {
  test('without the key, and with a wrong one, it asks for the key and shows nothing', async () => {
    const signIn = await page.goto(`${server.url}/console`);
    assert.equal(signIn?.status(), 200);
    await page.getByLabel('Admin key').waitFor();
    await assertShowsNoData();
    await screenshot(page, 'console-01-sign-in');

    await page.goto(`${server.url}/console?key=wrong-key-0123456789`);
    assert.equal(page.url(), `${server.url}/console?signin=failed`, 'the wrong key left the address bar too');
    assert.equal((await page.getByRole('alert').textContent())?.trim(), 'That admin key is not valid.');
    await assertShowsNoData();
    await screenshot(page, 'console-02-wrong-key-in-link');

    await page.getByLabel('Admin key').fill('another-wrong-key');
    const [answer] = await Promise.all([
      page.waitForResponse((response) => response.url().endsWith('/console/sign-in')),
      page.getByRole('button', { name: 'Sign in' }).click(),
    ]);
    assert.equal(answer.status(), 401);
    await page.getByRole('alert').waitFor();
    await assertShowsNoData();
    assert.deepEqual(await context.cookies(), []);
    assert.equal((await page.request.get(`${server.url}/__admin/meetings`)).status(), 401);
    await screenshot(page, 'console-03-wrong-key-in-form');
  });

  test('the printed link signs in with an HttpOnly, SameSite=Strict cookie and drops the key from the address bar', async () => {
    const response = await page.goto(link);
    assert.equal(page.url(), `${server.url}/console`);
    assert.equal(response?.request().redirectedFrom()?.url(), link);
    const csp = response!.headers()['content-security-policy']!;
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /style-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);

    const cookies = await context.cookies();
    assert.equal(cookies.length, 1);
    assert.equal(cookies[0]!.name, 'graph_meetings_console');
    assert.equal(cookies[0]!.httpOnly, true);
    assert.equal(cookies[0]!.sameSite, 'Strict');
    assert.equal(cookies[0]!.path, '/');
    assert.ok(!cookies[0]!.value.includes(adminKey), 'the cookie is not the key');
    assert.equal(await page.evaluate(() => document.cookie), '', 'script cannot read the cookie');

    await page.getByRole('heading', { name: 'Meetings', exact: true }).waitFor();
    await meetingsTable().and(page.locator('[aria-busy="false"]')).waitFor();
    await meetingsTable().getByRole('row', { name: /Quarterly review with Contoso/ }).waitFor();
    await meetingsTable().getByRole('row', { name: /Daily standup/ }).waitFor();
    await screenshot(page, 'console-04-signed-in');
  });

  test('finds a meeting by subject, externalId, organizer and join URL; shows its JSON and join link', async () => {
    const review = meetings.review;
    for (const [name, text] of [
      ['subject', 'QUARTERLY review'],
      ['external-id', review.externalId!],
      ['organizer', ALICE.upn],
      ['join-url', review.joinWebUrl!],
    ] as const) {
      await search(text);
      const rows = await rowsOf(meetingsTable());
      assert.ok(rows.some((cells) => cells[0] === 'Quarterly review with Contoso'), `search by ${name}`);
      assert.ok(!rows.some((cells) => cells[0] === 'Daily standup'), `search by ${name} found Bob's meeting`);
      if (name !== 'organizer') assert.equal(rows.length, 1, `search by ${name}: ${JSON.stringify(rows)}`);
      await screenshot(page, `console-05-search-by-${name}`);
    }

    const row = meetingsTable().getByRole('row', { name: /Quarterly review with Contoso/ });
    assert.equal(await row.getByRole('link', { name: 'Join link' }).getAttribute('href'), review.joinWebUrl);
    const show = row.getByRole('button', { name: 'Show JSON' });
    const details = page.locator(`#${await show.getAttribute('aria-controls')}`);
    await show.click();
    assert.equal(await row.getByRole('button', { name: 'Hide JSON' }).getAttribute('aria-expanded'), 'true');
    const shown = JSON.parse((await details.textContent())!) as Json;
    assert.equal(shown.id, review.id);
    assert.equal(shown.externalId, review.externalId);
    assert.equal(shown.joinWebUrl, review.joinWebUrl);
    await screenshot(page, 'console-06-meeting-json');

    await search('no meeting has this subject');
    assert.deepEqual(await rowsOf(meetingsTable()), [['No meetings found.']]);
  });

  test('a subject with <script> and <img onerror> is shown as text and runs nothing', async () => {
    await search('window.__pwned');
    const rows = await rowsOf(meetingsTable());
    assert.equal(rows.length, 1);
    assert.equal(rows[0]![0], HOSTILE_SUBJECT);
    assert.equal(await meetingsTable().locator('img, script').count(), 0);
    await meetingsTable().getByRole('button', { name: 'Show JSON' }).click();
    assert.match((await meetingsTable().locator('pre').textContent())!, /window\.__pwned = 1/);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    await screenshot(page, 'console-07-hostile-subject');
  });

  test('the request log shows the requests just made and filters them', async () => {
    const missing = `console-missing-${randomUUID()}`;
    const aliceToken = await tokenFor(ALICE.upn);
    assert.equal((await fetch(`${server.url}/v1.0/me/onlineMeetings/${missing}`, { headers: { authorization: `Bearer ${aliceToken}` } })).status, 404);
    await sdkFor(BOB.upn).me.onlineMeetings.byOnlineMeetingId(meetings.standup.id!).get();

    // By keyboard: the section's heading takes the focus.
    await page.getByRole('link', { name: 'Request log' }).focus();
    await page.keyboard.press('Enter');
    const heading = page.getByRole('heading', { name: 'Request log', exact: true });
    await heading.waitFor();
    assert.equal(await heading.evaluate((element: unknown) => element === document.activeElement), true);
    const table = page.getByRole('table', { name: 'Requests' });
    await table.and(page.locator('[aria-busy="false"]')).waitFor();
    const all = await rowsOf(table);
    const paths = all.map((cells) => `${cells[1]} ${cells[2]}`);
    assert.ok(paths.includes(`GET /v1.0/me/onlineMeetings/${missing}`), JSON.stringify(paths));
    assert.ok(paths.includes(`GET /v1.0/me/onlineMeetings/${meetings.standup.id}`));
    assert.ok(paths.includes('POST /v1.0/me/onlineMeetings/createOrGet'));
    await screenshot(page, 'console-08-request-log');

    const apply = () => refreshes(table, '/requests', () => page.getByRole('button', { name: 'Apply filters' }).click());
    await page.getByLabel('Method', { exact: true }).selectOption('GET');
    await apply();
    const gets = await rowsOf(table);
    assert.ok(gets.length >= 2 && gets.every((cells) => cells[1] === 'GET'), JSON.stringify(gets));
    await screenshot(page, 'console-09-request-log-method-get');

    await page.getByLabel('Method', { exact: true }).selectOption('');
    await page.getByLabel('User', { exact: true }).fill(BOB.upn);
    await apply();
    const bobs = await rowsOf(table);
    assert.ok(bobs.length >= 2 && bobs.every((cells) => cells[7] === BOB.upn), JSON.stringify(bobs));
    await screenshot(page, 'console-10-request-log-user');

    await page.getByLabel('User', { exact: true }).fill('');
    await page.getByLabel('Status', { exact: true }).fill('404');
    await page.getByLabel('Path', { exact: true }).fill(`*${missing}`);
    await apply();
    const notFound = await rowsOf(table);
    assert.deepEqual(notFound.map((cells) => [cells[1], cells[2], cells[3], cells[7]]), [['GET', `/v1.0/me/onlineMeetings/${missing}`, '404', ALICE.upn]]);
    await screenshot(page, 'console-11-request-log-status-path');

    // Polling: a request made now appears without touching the page.
    await page.getByLabel('Status', { exact: true }).fill('');
    await page.getByLabel('Path', { exact: true }).fill('');
    await page.getByLabel('Refresh every 2 seconds').check();
    const later = `console-later-${randomUUID()}`;
    assert.equal((await fetch(`${server.url}/v1.0/me/onlineMeetings/${later}`, { headers: { authorization: `Bearer ${aliceToken}` } })).status, 404);
    await table.getByRole('row', { name: new RegExp(later) }).waitFor({ timeout: 15_000 });
    await page.getByLabel('Refresh every 2 seconds').uncheck();
    await screenshot(page, 'console-12-request-log-polled');
  });

  test('faults: add from JSON, delete one, clear all, and a bad rule shows the error', async () => {
    await page.getByRole('link', { name: 'Faults' }).click();
    const table = page.getByRole('table', { name: 'Fault rules, in the order they apply' });
    await table.waitFor();
    const rule = { match: { method: 'GET', path: '/v1.0/me/onlineMeetings/console-fault' }, respond: { status: 503, retryAfter: 1 } };
    const add = async (value: unknown) => {
      await page.getByLabel('Fault rule (JSON)').fill(typeof value === 'string' ? value : JSON.stringify(value));
      await page.getByRole('button', { name: 'Add fault' }).click();
    };

    await add(rule);
    await page.getByRole('status').filter({ hasText: /^Fault .+ added\.$/ }).waitFor();
    const stored = (await adminJson('GET', '/faults')).value as Json[];
    assert.equal(stored.length, 1);
    assert.deepEqual(stored[0]!.match, rule.match);
    const id = stored[0]!.id as string;
    await table.getByRole('row', { name: new RegExp(id) }).waitFor();
    const token = await tokenFor(ALICE.upn);
    assert.equal((await fetch(`${server.url}/v1.0/me/onlineMeetings/console-fault`, { headers: { authorization: `Bearer ${token}` } })).status, 503);
    await screenshot(page, 'console-13-fault-added');

    await page.getByRole('button', { name: `Delete fault ${id}` }).click();
    await page.getByRole('status').filter({ hasText: `Fault ${id} deleted.` }).waitFor();
    assert.deepEqual((await adminJson('GET', '/faults')).value, []);
    assert.deepEqual(await rowsOf(table), [['No fault rules.']]);
    await screenshot(page, 'console-14-fault-deleted');

    await add(rule);
    await page.getByRole('status').filter({ hasText: /^Fault .+ added\.$/ }).waitFor();
    await add({ ...rule, respond: { status: 500 } });
    await table.locator('tbody tr').nth(1).waitFor();
    assert.equal(((await adminJson('GET', '/faults')).value as Json[]).length, 2);
    await page.getByRole('button', { name: 'Clear all faults' }).click();
    await page.getByRole('status').filter({ hasText: 'All fault rules cleared.' }).waitFor();
    assert.deepEqual((await adminJson('GET', '/faults')).value, []);
    await screenshot(page, 'console-15-faults-cleared');

    await add('{ not json');
    await page.getByRole('alert').filter({ hasText: /^The rule is not valid JSON/ }).waitFor();
    await add({ respond: { status: 418 } });
    await page.getByRole('alert').filter({ hasText: /status/ }).waitFor();
    assert.deepEqual((await adminJson('GET', '/faults')).value, []);
    await screenshot(page, 'console-16-fault-rejected');
  });

  test('the clock: set and freeze, advance by a duration, back to real time', async () => {
    await page.getByRole('link', { name: 'Clock' }).click();
    await page.getByRole('heading', { name: 'Clock', exact: true }).waitFor();
    await page.getByLabel('Time (ISO 8601)').fill('2031-05-01T10:00:00Z');
    await page.getByLabel('Frozen').check();
    await page.getByRole('button', { name: 'Set clock' }).click();
    await page.getByRole('status').filter({ hasText: 'Clock set.' }).waitFor();
    assert.deepEqual(await adminJson('GET', '/clock'), { now: '2031-05-01T10:00:00.000Z', frozen: true });
    await page.getByText('2031-05-01T10:00:00.000Z', { exact: false }).waitFor();
    await screenshot(page, 'console-17-clock-set');

    await page.getByLabel('Advance by (ISO 8601 duration)').fill('PT1H');
    await page.getByRole('button', { name: 'Advance' }).click();
    await page.getByRole('status').filter({ hasText: 'Clock advanced.' }).waitFor();
    assert.deepEqual(await adminJson('GET', '/clock'), { now: '2031-05-01T11:00:00.000Z', frozen: true });
    await screenshot(page, 'console-18-clock-advanced');

    await page.getByLabel('Advance by (ISO 8601 duration)').fill('soon');
    await page.getByRole('button', { name: 'Advance' }).click();
    await page.getByRole('alert').filter({ hasText: /not an ISO 8601 duration/ }).waitFor();
    assert.deepEqual(await adminJson('GET', '/clock'), { now: '2031-05-01T11:00:00.000Z', frozen: true });
    await screenshot(page, 'console-19-clock-bad-duration');

    await page.getByRole('button', { name: 'Back to real time' }).click();
    await page.getByRole('status').filter({ hasText: 'Back to real time.' }).waitFor();
    const clock = await adminJson('GET', '/clock');
    assert.equal(clock.frozen, false);
    assert.ok(Math.abs(Date.parse(clock.now) - Date.now()) < 60_000, clock.now);
    await screenshot(page, 'console-20-clock-real-time');
  });

  test('the directory lists tenants, users, apps and access policies', async () => {
    await page.getByRole('link', { name: 'Directory' }).click();
    const tenants = page.getByRole('table', { name: 'Tenants' });
    await tenants.getByRole('row', { name: /Contoso/ }).waitFor();
    const users = await rowsOf(page.getByRole('table', { name: 'Users' }));
    assert.ok(users.some((cells) => cells[1] === ALICE.upn));
    const policies = await rowsOf(page.getByRole('table', { name: 'Access policies' }));
    assert.ok(policies.some((cells) => cells[2] === ALICE.upn), JSON.stringify(policies));
    assert.ok((await rowsOf(page.getByRole('table', { name: 'Apps' }))).length >= 3);
    await screenshot(page, 'console-21-directory');
  });

  test('no page violated the Content-Security-Policy, which does block inline script', async () => {
    assert.deepEqual(violations, []);
    assert.deepEqual(browserErrors, []);
    // The control: an inline script injected now is refused and reported.
    await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.__inline = 1';
      document.body.append(script);
    });
    assert.equal(await page.evaluate(() => window.__inline), undefined);
    for (let i = 0; i < 50 && violations.length === 0; i++) await page.waitForTimeout(20);
    assert.ok(violations.length > 0, 'the injected inline script was not reported');
  });
});
