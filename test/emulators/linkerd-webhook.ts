// The MutatingWebhookConfiguration Linkerd installs, with its real selectors and
// its Ignore failure policy (a down injector lets pods start unmeshed).
import type { V1MutatingWebhookConfiguration } from "@kubernetes/client-node";
import type { WebhookEndpoint } from "./istio-webhooks.ts";
import { LINKERD_NAMESPACE, LINKERD_WEBHOOK_CONFIG } from "./names.ts";

export function linkerdWebhookConfiguration(endpoint: WebhookEndpoint): V1MutatingWebhookConfiguration {
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: {
      name: LINKERD_WEBHOOK_CONFIG,
      labels: {
        "linkerd.io/control-plane-component": "proxy-injector",
        "linkerd.io/control-plane-ns": LINKERD_NAMESPACE,
      },
    },
    webhooks: [
      {
        name: "linkerd-proxy-injector.linkerd.io",
        admissionReviewVersions: ["v1"],
        clientConfig: { url: endpoint.url, caBundle: endpoint.caBundle },
        failurePolicy: "Ignore",
        namespaceSelector: {
          matchExpressions: [
            { key: "config.linkerd.io/admission-webhooks", operator: "NotIn", values: ["disabled"] },
            {
              key: "kubernetes.io/metadata.name",
              operator: "NotIn",
              values: ["kube-system", "cert-manager"],
            },
          ],
        },
        rules: [
          {
            apiGroups: [""],
            apiVersions: ["v1"],
            operations: ["CREATE"],
            resources: ["pods"],
            scope: "Namespaced",
          },
        ],
        sideEffects: "None",
        timeoutSeconds: 10,
      },
    ],
  };
}
