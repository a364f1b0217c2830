// The preflight's public entry points.
export type {
  PolicyObjects,
  PreflightInput,
  PreflightPod,
  PreflightWorkload,
  UnreadablePolicies,
  WebhookConfigurationLike,
} from "./input.ts";
export { preflightWorkloadOf } from "./input.ts";
export { preflightReadsAllPods } from "./istio-hbone-capable.ts";
export {
  LINKERD_DESTINATION_NAME,
  LINKERD_DESTINATION_NAMESPACE,
  linkerdDefaultInboundPolicyOf,
} from "./linkerd-config.ts";
export {
  POLICY_RESOURCES,
  type PolicyResource,
  policyResourceName,
  policyResourcePath,
  policyResourceReadFor,
} from "./policy-resources.ts";
export { hasBlockingWarnings, preflightWarnings } from "./preflight.ts";
