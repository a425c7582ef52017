// Admission step for the per-app request rate (control/app-rate-limit.ts): over it, Graph's 429.
import type { AdmissionStep } from './authenticate.js';
import type { AppRateLimit } from '../control/app-rate-limit.js';
import { graphErrors } from './graph-errors.js';

export function appRateLimitStep(limit: AppRateLimit): AdmissionStep {
  return async (request, _reply, principal) => {
    // A delegated token may name no client app: nothing to count it against.
    if (!principal.appId) return;
    // Graph weighs each item of a $batch on its own (protocol §7); the items pass this step
    // themselves, so the envelope is not counted as well.
    if (request.routeOptions.url?.endsWith('/$batch')) return;
    const waitSeconds = limit.take(principal.appId);
    if (waitSeconds > 0) throw graphErrors.tooManyRequests(waitSeconds);
  };
}
