// Run as a child process (`node --import tsx test/helpers/tls-client.ts <mode> <url> [token] [externalId]`)
// with NODE_EXTRA_CA_CERTS set, the way a user runs their app against `serve --tls`. Prints one JSON line.
//   fetch: GET <url>/healthz with Node's fetch
//   old-client: createOrGet with @microsoft/microsoft-graph-client 3.x (tokens only over https to customHosts)
//   kiota: createOrGet with the official Graph SDK
import { Client } from '@microsoft/microsoft-graph-client';
import { graphSdk } from './graph-client.js';

const [mode, url, token = '', externalId = 'tls-meeting'] = process.argv.slice(2);
const meeting = { externalId, subject: 'Over HTTPS', startDateTime: '2030-01-01T10:00:00Z', endDateTime: '2030-01-01T11:00:00Z' };

async function run(): Promise<unknown> {
  const host = new URL(url!).hostname;
  if (mode === 'fetch') return { status: (await fetch(`${url}/healthz`)).status };
  if (mode === 'old-client') {
    const client = Client.init({ authProvider: (done) => done(null, token), baseUrl: url, defaultVersion: 'v1.0', customHosts: new Set([host]) });
    const created = await client.api('/me/onlineMeetings/createOrGet').post(meeting);
    return { id: created.id, context: created['@odata.context'], joinWebUrl: created.joinWebUrl };
  }
  if (mode === 'kiota') {
    const { client } = graphSdk(url!, async () => token, { allowedHosts: [host] });
    const created = await client.me.onlineMeetings.createOrGet.post({
      ...meeting,
      startDateTime: new Date(meeting.startDateTime),
      endDateTime: new Date(meeting.endDateTime),
    });
    return { id: created?.id, joinWebUrl: created?.joinWebUrl };
  }
  throw new Error(`unknown mode ${mode}`);
}

run().then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (error: Error & { code?: string; cause?: { code?: string }; statusCode?: number }) => {
    process.stdout.write(`${JSON.stringify({ error: error.message, code: error.cause?.code ?? error.code, statusCode: error.statusCode })}\n`);
    process.exitCode = 1;
  },
);
