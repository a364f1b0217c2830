// Linkerd's cluster-wide default inbound policy is what its policy controller enforces: the
// --default-policy argument of the policy container in the linkerd-destination Deployment
// (the chart renders proxy.defaultInboundPolicy there). The operator and the plan CLI both read
// Deployments already, so both see the same value without reading a ConfigMap.

export const LINKERD_DESTINATION_NAMESPACE = "linkerd";
export const LINKERD_DESTINATION_NAME = "linkerd-destination";
const POLICY_CONTAINER = "policy";
const DEFAULT_POLICY_FLAG = "--default-policy";

interface DeploymentLike {
  spec?:
    | {
        template?:
          | { spec?: { containers?: Array<{ name?: string; args?: string[] | undefined }> } | undefined }
          | undefined;
      }
    | undefined;
}

/** The cluster-wide default inbound policy, or undefined when the Deployment does not say. */
export function linkerdDefaultInboundPolicyOf(destination: DeploymentLike | undefined): string | undefined {
  const containers = destination?.spec?.template?.spec?.containers ?? [];
  const args = containers.find((c) => c.name === POLICY_CONTAINER)?.args ?? [];
  for (const [index, arg] of args.entries()) {
    if (arg.startsWith(`${DEFAULT_POLICY_FLAG}=`))
      return arg.slice(DEFAULT_POLICY_FLAG.length + 1) || undefined;
    if (arg === DEFAULT_POLICY_FLAG) return args[index + 1];
  }
  return undefined;
}
