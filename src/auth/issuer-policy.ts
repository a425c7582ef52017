// Which `iss` values a token may carry. An exact issuer, or Entra's multi-tenant form: the discovery
// document of .../common/v2.0 (or organizations) names the issuer as a template,
// `https://login.microsoftonline.com/{tenantid}/v2.0`, and a token is accepted when its `iss` is that
// template with `{tenantid}` replaced by the token's own `tid` claim.
//
// Entra's v1 tokens: Microsoft Graph's access tokens are v1 tokens whichever endpoint issued them,
// with `iss` `https://sts.windows.net/{tid}/`, signed by the same keys. So for an issuer in Entra's
// v2 form (a path ending /{tenantid}/v2.0 or /<tenant GUID>/v2.0) the v1 issuer of the same tenant
// is accepted too, unless turned off (`--reject-v1-tokens`).

export const TENANT_PLACEHOLDER = '{tenantid}';
export const ENTRA_V1_ISSUER_TEMPLATE = `https://sts.windows.net/${TENANT_PLACEHOLDER}/`;

const GUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const ENTRA_V2_ISSUER = new RegExp(`/(\\{tenantid\\}|${GUID})/v2\\.0/?$`, 'i');

export interface IssuerPolicy {
  /** The accepted issuers, templates included, for messages. */
  readonly issuers: readonly string[];
  accepts(iss: unknown, tenantId: unknown): boolean;
}

/** Only `issuer`, or with `{tenantid}` the issuer of the token's own tenant. */
export function issuerPolicy(issuers: readonly string[]): IssuerPolicy {
  return {
    issuers,
    accepts(iss, tenantId) {
      if (typeof iss !== 'string') return false;
      return issuers.some((template) => {
        if (!template.includes(TENANT_PLACEHOLDER)) return iss === template;
        // A tid that could reshape the URL (a slash, an empty value) never matches.
        return typeof tenantId === 'string' && /^[A-Za-z0-9.-]+$/.test(tenantId) && iss === template.replaceAll(TENANT_PLACEHOLDER, tenantId);
      });
    },
  };
}

/** The v1 issuer matching an issuer in Entra's v2 form, or undefined for any other issuer. */
export function entraV1Issuer(v2Issuer: string): string | undefined {
  const tenant = ENTRA_V2_ISSUER.exec(v2Issuer)?.[1];
  if (!tenant) return undefined;
  return tenant.toLowerCase() === TENANT_PLACEHOLDER ? ENTRA_V1_ISSUER_TEMPLATE : `https://sts.windows.net/${tenant}/`;
}

/**
 * Does the discovery document's issuer belong to the configured one? Equal, or a template the
 * configured issuer instantiates (configured .../common/v2.0, document .../{tenantid}/v2.0).
 */
export function documentIssuerMatches(configured: string, documentIssuer: string): boolean {
  if (configured === documentIssuer) return true;
  if (!documentIssuer.includes(TENANT_PLACEHOLDER)) return false;
  const pattern = documentIssuer
    .split(TENANT_PLACEHOLDER)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]+');
  return new RegExp(`^${pattern}$`).test(configured);
}
