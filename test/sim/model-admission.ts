// Pod admission as a real apiserver with the meshes' injectors registered: the
// MutatingWebhookConfigurations the meshes install (their real selectors, from the emulators)
// are called in configuration-name order, each matching webhook once (reinvocationPolicy
// Never), each seeing the pod as the webhooks before it left it. The injection decisions and
// the injected pods are the emulators' (checked against the real injectors elsewhere).
import type {
  V1MutatingWebhook,
  V1MutatingWebhookConfiguration,
  V1Namespace,
  V1Pod,
} from "@kubernetes/client-node";
import { decideIstioInjection, injectIstioSidecar } from "../emulators/istio-injector.ts";
import { istioWebhookConfiguration, type WebhookEndpoint } from "../emulators/istio-webhooks.ts";
import { webhookSelects } from "../emulators/label-selector.ts";
import { decideLinkerdInjection, injectLinkerdProxy } from "../emulators/linkerd-injector.ts";
import { linkerdWebhookConfiguration } from "../emulators/linkerd-webhook.ts";

/** What the webhook's service does with a pod the apiserver sent it. */
export type PodMutator = (pod: V1Pod, namespace: V1Namespace) => V1Pod;

export interface InstalledInjector {
  configuration: V1MutatingWebhookConfiguration;
  mutate: PodMutator;
}

/** Nothing listens at this address: the model calls the mutators directly. */
const MODEL_ENDPOINT: WebhookEndpoint = { url: "https://model.invalid/inject", caBundle: "" };

export function istioInjector(revision: string, nativeSidecars: boolean): InstalledInjector {
  return {
    configuration: istioWebhookConfiguration(revision, MODEL_ENDPOINT),
    mutate(pod, namespace) {
      const name = namespace.metadata?.name ?? "";
      const decision = decideIstioInjection(pod, name);
      return decision.inject ? injectIstioSidecar(pod, { revision, nativeSidecars, namespace: name }) : pod;
    },
  };
}

export function linkerdInjector(nativeSidecars: boolean): InstalledInjector {
  return {
    configuration: linkerdWebhookConfiguration(MODEL_ENDPOINT),
    mutate(pod, namespace) {
      // Linkerd's injector reads the namespace's annotations at the time of the review.
      const namespaceAnnotations = namespace.metadata?.annotations ?? {};
      const decision = decideLinkerdInjection(pod, namespaceAnnotations);
      if (!decision.inject) return pod;
      return injectLinkerdProxy(pod, {
        namespace: namespace.metadata?.name ?? "",
        namespaceAnnotations,
        nativeSidecars,
      });
    },
  };
}

function interceptsPodCreate(webhook: V1MutatingWebhook): boolean {
  return (webhook.rules ?? []).some(
    (rule) =>
      (rule.apiGroups ?? []).some((g) => g === "" || g === "*") &&
      (rule.operations ?? []).some((o) => o === "CREATE" || o === "*") &&
      (rule.resources ?? []).some((r) => r === "pods" || r === "*"),
  );
}

/** Byte order, as the apiserver sorts webhook configurations (not the locale's). */
function byName(a: InstalledInjector, b: InstalledInjector): number {
  const x = a.configuration.metadata?.name ?? "";
  const y = b.configuration.metadata?.name ?? "";
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The pod the mutating admission chain makes of `pod`, created in `namespace`. */
export function admitPod(pod: V1Pod, namespace: V1Namespace, injectors: readonly InstalledInjector[]): V1Pod {
  const namespaceLabels = namespace.metadata?.labels ?? {};
  let current = pod;
  for (const injector of [...injectors].sort(byName)) {
    for (const webhook of injector.configuration.webhooks ?? []) {
      if (!interceptsPodCreate(webhook)) continue;
      if (!webhookSelects(webhook, namespaceLabels, current.metadata?.labels ?? {})) continue;
      current = injector.mutate(structuredClone(current), namespace);
    }
  }
  return current;
}
