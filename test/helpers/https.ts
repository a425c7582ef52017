// HTTPS requests that trust a given CA (or none but the system's), for servers started with --tls.
import { request } from 'node:https';
import type { PeerCertificate } from 'node:tls';

export interface HttpsOptions {
  /** PEM certificate(s) to trust; without it only the system's CAs. */
  ca?: string;
  method?: string;
  headers?: Record<string, string>;
  json?: unknown;
  /** The name the certificate must match (SNI and hostname check); default the URL's host. */
  servername?: string;
}

export interface HttpsResponse {
  status: number;
  body: string;
  peerCertificate: PeerCertificate;
}

export function httpsRequest(url: string, options: HttpsOptions = {}): Promise<HttpsResponse> {
  const body = options.json === undefined ? undefined : JSON.stringify(options.json);
  const headers = { ...options.headers, ...(body ? { 'content-type': 'application/json' } : {}) };
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? (body ? 'POST' : 'GET'), headers, ca: options.ca, servername: options.servername, agent: false, timeout: 5_000 },
      (response) => {
        const peerCertificate = (response.socket as import('node:tls').TLSSocket).getPeerCertificate(true);
        let text = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode!, body: text, peerCertificate }));
        response.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out: ${url}`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** For startCliServer's `healthz` option. */
export const httpsStatus = (ca: string) => async (url: string) => (await httpsRequest(url, { ca })).status;
