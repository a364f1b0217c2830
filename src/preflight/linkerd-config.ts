// Linkerd keeps its Helm values in the linkerd-config ConfigMap (namespace linkerd, key
// "values"); proxy.defaultInboundPolicy there is the cluster-wide default inbound policy.
import { parse as parseYaml } from "yaml";

export const LINKERD_CONFIG_NAMESPACE = "linkerd";
export const LINKERD_CONFIG_NAME = "linkerd-config";

/** The cluster-wide default inbound policy, or undefined when the ConfigMap does not say. */
export function linkerdDefaultInboundPolicyOf(
  configMap: { data?: Record<string, string> | undefined } | undefined,
): string | undefined {
  const values = configMap?.data?.values;
  if (!values) return undefined;
  try {
    const parsed = parseYaml(values) as { proxy?: { defaultInboundPolicy?: unknown } } | null;
    const policy = parsed?.proxy?.defaultInboundPolicy;
    return typeof policy === "string" ? policy : undefined;
  } catch {
    return undefined;
  }
}
