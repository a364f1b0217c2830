// The API server's label-selector semantics, so unit tests can tell which of the
// webhooks we register a pod would reach, without a cluster.
import type { V1LabelSelector, V1MutatingWebhook } from "@kubernetes/client-node";

export type Labels = Readonly<Record<string, string>>;

/** An absent or empty selector matches everything, as in admission webhooks. */
export function matchesLabelSelector(selector: V1LabelSelector | null | undefined, labels: Labels): boolean {
  if (!selector) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  for (const requirement of selector.matchExpressions ?? []) {
    const present = Object.hasOwn(labels, requirement.key);
    const value = labels[requirement.key];
    const values = requirement.values ?? [];
    switch (requirement.operator) {
      case "In":
        if (!present || !values.includes(value ?? "")) return false;
        break;
      case "NotIn":
        // A missing key satisfies NotIn.
        if (present && values.includes(value ?? "")) return false;
        break;
      case "Exists":
        if (!present) return false;
        break;
      case "DoesNotExist":
        if (present) return false;
        break;
      default:
        throw new Error(`unknown label selector operator ${requirement.operator}`);
    }
  }
  return true;
}

/** Whether the API server would call this webhook for an object with these labels in a namespace with those. */
export function webhookSelects(
  webhook: V1MutatingWebhook,
  namespaceLabels: Labels,
  objectLabels: Labels,
): boolean {
  return (
    matchesLabelSelector(webhook.namespaceSelector, namespaceLabels) &&
    matchesLabelSelector(webhook.objectSelector, objectLabels)
  );
}
