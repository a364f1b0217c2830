// Typed API clients whose every request has a deadline. client-node's requests have none of their
// own (undici gives up on a silent connection only after five minutes), so one request stuck on a
// connection the network dropped would hold a worker, and the migration with it, for that long.
// With a deadline it fails like any other API error and the key is retried.
import type { ApiConstructor, ApiType, KubeConfig, RequestContext } from "@kubernetes/client-node";

/** Long enough for any single request the operator makes; far shorter than undici's 300 s. */
export const REQUEST_TIMEOUT_MS = 30_000;

export function makeApiClient<T extends ApiType>(
  kc: KubeConfig,
  type: ApiConstructor<T>,
  timeoutMs = REQUEST_TIMEOUT_MS,
): T {
  // The kubeconfig as client-node sees it, but signing each request with a deadline as well.
  const timed: KubeConfig = Object.create(kc, {
    applySecurityAuthentication: {
      value: async (context: RequestContext) => {
        await kc.applySecurityAuthentication(context);
        context.setSignal(AbortSignal.timeout(timeoutMs));
      },
    },
  });
  return timed.makeApiClient(type);
}
