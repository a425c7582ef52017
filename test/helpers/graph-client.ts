// The official Microsoft Graph SDK for TypeScript (Kiota) pointed at a test server, set up the way
// the README tells users to, and the check that a call failed with a parsed ODataError.
import assert from 'node:assert/strict';
import {
  type AccessTokenProvider,
  AllowedHostsValidator,
  BaseBearerTokenAuthenticationProvider,
  type RequestAdapter,
} from '@microsoft/kiota-abstractions';
import { createGraphServiceClient, GraphRequestAdapter, type GraphServiceClient } from '@microsoft/msgraph-sdk';
import type { ODataError } from '@microsoft/msgraph-sdk/models/oDataErrors/index.js';
import '@microsoft/msgraph-sdk-users'; // adds .me and .users to GraphServiceClient

/** As the SDK's own Azure Identity provider does: a token only for hosts on the allowed list. */
function tokenProvider(getToken: () => Promise<string>, allowedHosts: string[]): AccessTokenProvider {
  const validator = new AllowedHostsValidator(new Set(allowedHosts));
  return {
    getAuthorizationToken: async (url) => (url && validator.isUrlHostValid(url) ? getToken() : ''),
    getAllowedHostsValidator: () => validator,
  };
}

export interface Sdk {
  client: GraphServiceClient;
  adapter: RequestAdapter;
}

export interface SdkOptions {
  version?: 'v1.0' | 'beta';
  allowedHosts?: string[];
}

/** A GraphServiceClient for the server at `serverUrl` (e.g. http://127.0.0.1:1234), with tokens from getToken. */
export function graphSdk(serverUrl: string, getToken: () => Promise<string>, { version = 'v1.0', allowedHosts = ['127.0.0.1'] }: SdkOptions = {}): Sdk {
  const adapter = new GraphRequestAdapter(new BaseBearerTokenAuthenticationProvider(tokenProvider(getToken, allowedHosts)));
  adapter.baseUrl = `${serverUrl}/${version}`;
  return { client: createGraphServiceClient(adapter), adapter };
}

/** Asserts the SDK threw an ODataError parsed from our error body; returns it for further checks. */
export async function rejectsWithODataError(promise: Promise<unknown>, status: number, code: string, message?: string): Promise<ODataError> {
  let caught: ODataError | undefined;
  await assert.rejects(promise, (error: ODataError) => {
    caught = error;
    return true;
  });
  const error = caught!;
  // Trap: the generated model names the OData `error` member `errorEscaped`, and the thrown value is
  // a deserialized model object, not an `Error` instance.
  assert.equal(error.responseStatusCode, status);
  assert.equal(error.errorEscaped?.code, code, JSON.stringify(error.errorEscaped));
  if (message !== undefined) {
    assert.equal(error.errorEscaped?.message, message);
    assert.equal(error.message, message);
  }
  const requestId = error.errorEscaped?.innerError?.requestId;
  assert.ok(requestId, 'innerError.request-id was not parsed');
  assert.deepEqual(error.responseHeaders?.['request-id'], [requestId]);
  assert.ok(error.errorEscaped?.innerError?.date instanceof Date, 'innerError.date was not parsed as a date');
  return error;
}
