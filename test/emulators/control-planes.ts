// The objects that make the meshes look installed: control-plane namespaces,
// Deployments and DaemonSets with fake images (kwok makes their pods Ready).
import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  type KubeConfig,
  type KubernetesObject,
  type KubernetesObjectApi,
  type V1DaemonSet,
  type V1Deployment,
  type V1Namespace,
  type V1PodTemplateSpec,
} from "@kubernetes/client-node";
import { createIfMissing, isNotFound } from "./kube-helpers.ts";
import type { Logger } from "./log.ts";
import {
  DEFAULT_ISTIO_REVISION,
  ISTIO_NAMESPACE,
  istiodDeploymentName,
  LINKERD_INJECTOR_DEPLOYMENT,
  LINKERD_NAMESPACE,
  LINKERD_VERSION,
  MANAGED_LABEL,
} from "./names.ts";

const ISTIO_VERSION = "1.28.0";

type Labels = Record<string, string>;

function podTemplate(labels: Labels, containerName: string, image: string): V1PodTemplateSpec {
  return {
    metadata: { labels },
    spec: {
      containers: [{ name: containerName, image, resources: { requests: { cpu: "10m", memory: "32Mi" } } }],
      // kwok's fake nodes carry no taints today; tolerate anything so a taint never strands a control plane.
      tolerations: [{ operator: "Exists" }],
    },
  };
}

function deployment(
  namespace: string,
  name: string,
  labels: Labels,
  container: string,
  image: string,
): V1Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace, labels },
    spec: { replicas: 1, selector: { matchLabels: labels }, template: podTemplate(labels, container, image) },
  };
}

function daemonSet(
  namespace: string,
  name: string,
  labels: Labels,
  container: string,
  image: string,
): V1DaemonSet {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name, namespace, labels },
    spec: { selector: { matchLabels: labels }, template: podTemplate(labels, container, image) },
  };
}

export function istiodDeployment(revision: string): V1Deployment {
  return deployment(
    ISTIO_NAMESPACE,
    istiodDeploymentName(revision),
    { app: "istiod", istio: "pilot", "istio.io/rev": revision, [MANAGED_LABEL]: "true" },
    "discovery",
    `registry.istio.io/release/pilot:${ISTIO_VERSION}`,
  );
}

export function controlPlaneObjects(istioRevisions: readonly string[]): KubernetesObject[] {
  const namespaces: V1Namespace[] = [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: ISTIO_NAMESPACE } },
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: LINKERD_NAMESPACE,
        // Linkerd keeps its own injector away from its control plane this way.
        labels: { "config.linkerd.io/admission-webhooks": "disabled", "linkerd.io/is-control-plane": "true" },
      },
    },
  ];
  const linkerdComponent = (component: string) => ({
    "linkerd.io/control-plane-component": component,
    "linkerd.io/control-plane-ns": LINKERD_NAMESPACE,
  });
  return [
    ...namespaces,
    ...[DEFAULT_ISTIO_REVISION, ...istioRevisions].map(istiodDeployment),
    daemonSet(
      ISTIO_NAMESPACE,
      "ztunnel",
      // Like the real ztunnel: the container is named istio-proxy, and it opts out of both sidecar and ambient.
      { app: "ztunnel", "sidecar.istio.io/inject": "false", "istio.io/dataplane-mode": "none" },
      "istio-proxy",
      `registry.istio.io/release/ztunnel:${ISTIO_VERSION}`,
    ),
    daemonSet(
      ISTIO_NAMESPACE,
      "istio-cni-node",
      { "k8s-app": "istio-cni-node", "sidecar.istio.io/inject": "false" },
      "install-cni",
      `registry.istio.io/release/install-cni:${ISTIO_VERSION}`,
    ),
    deployment(
      LINKERD_NAMESPACE,
      "linkerd-destination",
      linkerdComponent("destination"),
      "destination",
      `cr.l5d.io/linkerd/controller:${LINKERD_VERSION}`,
    ),
    deployment(
      LINKERD_NAMESPACE,
      "linkerd-identity",
      linkerdComponent("identity"),
      "identity",
      `cr.l5d.io/linkerd/controller:${LINKERD_VERSION}`,
    ),
    deployment(
      LINKERD_NAMESPACE,
      LINKERD_INJECTOR_DEPLOYMENT,
      linkerdComponent("proxy-injector"),
      "proxy-injector",
      `cr.l5d.io/linkerd/controller:${LINKERD_VERSION}`,
    ),
  ];
}

/** Creates what is missing and leaves existing objects alone, so a restart keeps a test's scaling. */
export async function ensureControlPlanes(
  objects: KubernetesObjectApi,
  istioRevisions: readonly string[],
  log: Logger,
): Promise<void> {
  for (const object of controlPlaneObjects(istioRevisions)) {
    const created = await createIfMissing(objects, object);
    if (created) {
      log.info("created", {
        kind: object.kind,
        namespace: object.metadata?.namespace,
        name: object.metadata?.name,
      });
    }
  }
}

/**
 * Removes the istiod Deployments and webhook configurations of revisions an earlier run
 * installed but this one does not: a stale webhook (Fail policy, dead port) would
 * otherwise reject pods in namespaces labelled for that revision.
 */
export async function pruneIstioRevisions(
  kc: KubeConfig,
  keep: readonly string[],
  log: Logger,
): Promise<void> {
  const wanted = new Set([DEFAULT_ISTIO_REVISION, ...keep]);
  const apps = kc.makeApiClient(AppsV1Api);
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  const ignoreMissing = (error: unknown) => {
    if (!isNotFound(error)) throw error;
  };
  const configs = await admission.listMutatingWebhookConfiguration({
    labelSelector: `${MANAGED_LABEL}=true,app=sidecar-injector`,
  });
  for (const config of configs.items) {
    const revision = config.metadata?.labels?.["istio.io/rev"];
    const name = config.metadata?.name;
    if (!name || !revision || wanted.has(revision)) continue;
    await admission.deleteMutatingWebhookConfiguration({ name }).catch(ignoreMissing);
    log.info("pruned", { kind: "MutatingWebhookConfiguration", name });
  }
  const deployments = await apps.listNamespacedDeployment({
    namespace: ISTIO_NAMESPACE,
    labelSelector: `${MANAGED_LABEL}=true,app=istiod`,
  });
  for (const deployment of deployments.items) {
    const revision = deployment.metadata?.labels?.["istio.io/rev"];
    const name = deployment.metadata?.name;
    if (!name || !revision || wanted.has(revision)) continue;
    await apps.deleteNamespacedDeployment({ name, namespace: ISTIO_NAMESPACE }).catch(ignoreMissing);
    log.info("pruned", { kind: "Deployment", namespace: ISTIO_NAMESPACE, name });
  }
}
