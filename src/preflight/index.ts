// The preflight's public entry points.
export type {
  PolicyObjects,
  PreflightInput,
  PreflightWorkload,
  UnreadablePolicies,
  WebhookConfigurationLike,
} from "./input.ts";
export { preflightWorkloadOf } from "./input.ts";
export {
  LINKERD_DESTINATION_NAME,
  LINKERD_DESTINATION_NAMESPACE,
  linkerdDefaultInboundPolicyOf,
} from "./linkerd-config.ts";
export { POLICY_RESOURCES, type PolicyResource, policyResourcePath } from "./policy-resources.ts";
export { hasBlockingWarnings, preflightWarnings } from "./preflight.ts";
