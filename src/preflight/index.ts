// The preflight's public entry points.
export type { PolicyObjects, PreflightInput, PreflightWorkload, WebhookConfigurationLike } from "./input.ts";
export { preflightWorkloadOf } from "./input.ts";
export {
  LINKERD_CONFIG_NAME,
  LINKERD_CONFIG_NAMESPACE,
  linkerdDefaultInboundPolicyOf,
} from "./linkerd-config.ts";
export { hasBlockingWarnings, preflightWarnings } from "./preflight.ts";
