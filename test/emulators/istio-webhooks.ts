// The MutatingWebhookConfigurations Istio installs per revision, with the real
// selectors: they, not the handler, decide namespace-label precedence and
// revisions. Also a pure simulation of which revision a pod reaches.
import type {
  V1LabelSelectorRequirement,
  V1MutatingWebhook,
  V1MutatingWebhookConfiguration,
  V1Pod,
} from "@kubernetes/client-node";
import { decideIstioInjection, type InjectionDecision } from "./istio-injector.ts";
import { type Labels, webhookSelects } from "./label-selector.ts";
import { DEFAULT_ISTIO_REVISION, istioWebhookConfigName, MANAGED_LABEL } from "./names.ts";

export interface WebhookEndpoint {
  /** https://127.0.0.1:PORT/path */
  url: string;
  /** base64 PEM of the CA that signed the serving certificate. */
  caBundle: string;
}

const NO_OPT_OUT: V1LabelSelectorRequirement = {
  key: "sidecar.istio.io/inject",
  operator: "NotIn",
  values: ["false"],
};
const absent = (key: string): V1LabelSelectorRequirement => ({ key, operator: "DoesNotExist" });
const oneOf = (key: string, value: string): V1LabelSelectorRequirement => ({
  key,
  operator: "In",
  values: [value],
});

export function istioWebhookConfiguration(
  revision: string,
  endpoint: WebhookEndpoint,
): V1MutatingWebhookConfiguration {
  const webhook = (
    name: string,
    namespace: V1LabelSelectorRequirement[],
    object: V1LabelSelectorRequirement[],
  ) => podCreateWebhook(name, endpoint, namespace, object);
  const webhooks: V1MutatingWebhook[] = [
    webhook(
      "rev.namespace.sidecar-injector.istio.io",
      [oneOf("istio.io/rev", revision), absent("istio-injection")],
      [NO_OPT_OUT],
    ),
    webhook(
      "rev.object.sidecar-injector.istio.io",
      [absent("istio.io/rev"), absent("istio-injection")],
      [NO_OPT_OUT, oneOf("istio.io/rev", revision)],
    ),
  ];
  // Only the default revision answers to the revision-less labels.
  if (revision === DEFAULT_ISTIO_REVISION) {
    webhooks.push(
      webhook("namespace.sidecar-injector.istio.io", [oneOf("istio-injection", "enabled")], [NO_OPT_OUT]),
      webhook(
        "object.sidecar-injector.istio.io",
        [absent("istio-injection"), absent("istio.io/rev")],
        [oneOf("sidecar.istio.io/inject", "true"), absent("istio.io/rev")],
      ),
    );
  }
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: {
      name: istioWebhookConfigName(revision),
      labels: {
        app: "sidecar-injector",
        "app.kubernetes.io/name": "istiod",
        "app.kubernetes.io/part-of": "istio",
        "istio.io/rev": revision,
        release: "istio",
        [MANAGED_LABEL]: "true",
      },
    },
    webhooks,
  };
}

function podCreateWebhook(
  name: string,
  endpoint: WebhookEndpoint,
  namespaceExpressions: V1LabelSelectorRequirement[],
  objectExpressions: V1LabelSelectorRequirement[],
): V1MutatingWebhook {
  return {
    name,
    admissionReviewVersions: ["v1"],
    clientConfig: { url: endpoint.url, caBundle: endpoint.caBundle },
    failurePolicy: "Fail",
    namespaceSelector: { matchExpressions: namespaceExpressions },
    objectSelector: { matchExpressions: objectExpressions },
    reinvocationPolicy: "Never",
    rules: [{ apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE"], resources: ["pods"] }],
    sideEffects: "None",
  };
}

/** Revisions whose webhooks the API server would call for this pod, in the server's order (by config name). */
export function istioRevisionsCalled(
  revisions: readonly string[],
  namespaceLabels: Labels,
  podLabels: Labels,
): string[] {
  const endpoint: WebhookEndpoint = { url: "https://127.0.0.1:1/inject", caBundle: "" };
  return [...revisions]
    .sort((a, b) => istioWebhookConfigName(a).localeCompare(istioWebhookConfigName(b)))
    .filter((revision) =>
      (istioWebhookConfiguration(revision, endpoint).webhooks ?? []).some((w) =>
        webhookSelects(w, namespaceLabels, podLabels),
      ),
    );
}

export type IstioAdmissionOutcome =
  | { revision: string; decision: InjectionDecision }
  | { revision: undefined };

/** Selectors plus handler: which revision (if any) injects this pod. Used by the unit tests. */
export function istioAdmissionOutcome(
  revisions: readonly string[],
  namespace: string,
  namespaceLabels: Labels,
  pod: V1Pod,
): IstioAdmissionOutcome {
  const [revision] = istioRevisionsCalled(revisions, namespaceLabels, pod.metadata?.labels ?? {});
  if (revision === undefined) return { revision: undefined };
  return { revision, decision: decideIstioInjection(pod, namespace) };
}
