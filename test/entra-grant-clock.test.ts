// Authorization codes and refresh tokens of the Entra-compatible token service live on the server's
// virtual clock (/__admin/clock), like everything else the testing toolkit times: moved past a
// code's lifetime, redeeming the code fails as an expired code does; moved past a refresh token's,
// so does refreshing. Access tokens stay on real time.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { CODE_LIFETIME_SECONDS, REFRESH_LIFETIME_SECONDS } from '../src/auth/entra/grant-tokens.js';
import { type RunningServer, startServer } from './helpers/server.js';

const TENANT = '6c10c000-0000-4000-8000-000000000001';
const APP = '6c10c000-0000-4000-8000-0000000000a1';
const REDIRECT_URI = 'http://localhost:3000/callback';
const USER = { id: '6c10c000-0000-4000-8000-0000000000b1', userPrincipalName: 'cleo@clock.example', password: 'Cleo-Pa55word!' };
const VERIFIER = 'c'.repeat(60);

let server: RunningServer;
before(async () => {
  server = await startServer({
    directory: { tenants: [{ id: TENANT, users: [USER], apps: [{ appId: APP, redirectUris: [REDIRECT_URI] }] }] },
  });
});
after(() => server?.close());

const form = (path: string, fields: Record<string, string>) =>
  fetch(`${server.url}${path}`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });

/** Signs the user in on the authorize page's form: the code it answers the redirect URI with. */
async function signIn(): Promise<string> {
  const answer = await form(`/${TENANT}/oauth2/v2.0/authorize`, {
    client_id: APP,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: 'OnlineMeetings.ReadWrite offline_access',
    code_challenge: createHash('sha256').update(VERIFIER).digest('base64url'),
    code_challenge_method: 'S256',
    username: USER.userPrincipalName,
    password: USER.password,
  });
  assert.equal(answer.status, 302, await answer.text());
  return new URL(answer.headers.get('location')!).searchParams.get('code')!;
}

const redeem = (code: string) =>
  form(`/${TENANT}/oauth2/v2.0/token`, { grant_type: 'authorization_code', client_id: APP, code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER });

async function advance(seconds: number) {
  const response = await server.admin('POST', '/clock/advance', { by: seconds * 1000 });
  assert.equal(response.status, 200, await response.text());
}

async function assertInvalidGrant(response: Response, code: number) {
  const body = (await response.json()) as { error: string; error_codes: number[] };
  assert.equal(response.status, 400, JSON.stringify(body));
  assert.equal(body.error, 'invalid_grant');
  assert.deepEqual(body.error_codes, [code]);
}

test('a code redeemed after the virtual clock moved past its lifetime is refused as expired', async () => {
  const fresh = await signIn();
  const expired = await signIn();
  await advance(CODE_LIFETIME_SECONDS - 60);
  const ok = await redeem(fresh);
  assert.equal(ok.status, 200, await ok.clone().text());
  await advance(120);
  await assertInvalidGrant(await redeem(expired), 70008);
  assert.equal((await server.admin('DELETE', '/clock')).status, 200);
  const again = await redeem(expired);
  assert.equal(again.status, 200, 'back on real time, the unredeemed code is within its lifetime again');
});

test('a refresh token expires by the virtual clock', async () => {
  const answer = await redeem(await signIn());
  assert.equal(answer.status, 200);
  const { refresh_token: refreshToken } = (await answer.json()) as { refresh_token: string };
  const refresh = () => form(`/${TENANT}/oauth2/v2.0/token`, { grant_type: 'refresh_token', client_id: APP, refresh_token: refreshToken });
  await advance(REFRESH_LIFETIME_SECONDS - 3600);
  assert.equal((await refresh()).status, 200);
  await advance(7200);
  await assertInvalidGrant(await refresh(), 9002313);
  assert.equal((await server.admin('DELETE', '/clock')).status, 200);
});
