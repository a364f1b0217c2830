// Names shared by the emulated meshes and the helpers tests use to drive them.

export const ISTIO_NAMESPACE = "istio-system";
export const LINKERD_NAMESPACE = "linkerd";

export const DEFAULT_ISTIO_REVISION = "default";

/** Annotation the emulator keeps on each MutatingWebhookConfiguration: is its injector listening? */
export const SERVING_ANNOTATION = "emulator.meshmigration.io/serving";
/** Next to it: the injector Deployment's metadata.generation that state reflects. */
export const OBSERVED_GENERATION_ANNOTATION = "emulator.meshmigration.io/observed-generation";

/**
 * On an injector's Deployment: "true" stops the injector process (or closes the emulator's socket)
 * while the Deployment stays available, as when the webhook is unreachable or its certificate has
 * expired: the control plane looks ready, and a fail-open injector lets pods through unmeshed.
 */
export const INJECTOR_DOWN_ANNOTATION = "emulator.meshmigration.io/injector-down";

export const CONSUL_NAMESPACE = "consul";
/** The chart's <fullname>-connect-injector with global.name=consul: Deployment and webhook alike. */
export const CONSUL_INJECTOR = "consul-connect-injector";
/**
 * The one value the test cluster sets apart from a plain install: the webhook's namespaceSelector
 * (Helm value connectInject.namespaceSelector). The chart's default selects every namespace and
 * fails closed, so every pod of every suite would wait on this injector; here only namespaces with
 * this label go through it, the way a platform team scopes Consul to the namespaces it meshes.
 */
export const CONSUL_WEBHOOK_NAMESPACE_LABEL = "consul.test.meshmigration.io/webhook";

export const LINKERD_WEBHOOK_CONFIG = "linkerd-proxy-injector-webhook-config";
export const LINKERD_INJECTOR_DEPLOYMENT = "linkerd-proxy-injector";

export const ISTIO_PROXY_IMAGE = "registry.istio.io/release/proxyv2:1.28.0";
export const LINKERD_VERSION = "edge-25.11.1";
export const LINKERD_PROXY_IMAGE = `cr.l5d.io/linkerd/proxy:${LINKERD_VERSION}`;

/** The emulator's state file, written once everything is registered and serving. */
export const STATE_FILE = "emulators.json";

/** Label on what the emulator creates, so a restart with fewer Istio revisions can prune the rest. */
export const MANAGED_LABEL = "emulator.meshmigration.io/managed";

/** Field manager for everything the emulator writes. */
export const FIELD_MANAGER = "emulated-meshes";

export function istioWebhookConfigName(revision: string = DEFAULT_ISTIO_REVISION): string {
  return revision === DEFAULT_ISTIO_REVISION
    ? "istio-sidecar-injector"
    : `istio-sidecar-injector-${revision}`;
}

export function istiodDeploymentName(revision: string = DEFAULT_ISTIO_REVISION): string {
  return revision === DEFAULT_ISTIO_REVISION ? "istiod" : `istiod-${revision}`;
}
