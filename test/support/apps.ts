// Sample applications for the end-to-end suites: a namespace with a 3-replica
// Deployment, a StatefulSet and a DaemonSet, plus unrelated labels and
// annotations that a migration must leave exactly as they were.
import type * as k8s from "@kubernetes/client-node";
import { meshRunsOwnPod } from "../../src/meshes/registry.ts";
import type { E2eClients } from "./kube.ts";
import { waitFor } from "./wait.ts";

export const UNRELATED_LABELS = { team: "payments", "app.kubernetes.io/part-of": "shop" };
export const UNRELATED_ANNOTATIONS = { "owner.example.com/contact": "payments@example.com" };

export interface AppNamespaceOptions {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Extra pod-template labels and annotations for the Deployment (e.g. a mesh opt-in). */
  deploymentTemplate?: TemplateExtras;
  /** Extra pod-template labels and annotations for every workload (Consul's opt-in is per pod). */
  podTemplate?: TemplateExtras;
  /** Leave out the StatefulSet and DaemonSet (faster suites). */
  deploymentOnly?: boolean;
}

interface TemplateExtras {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

function template(app: string, ...extras: Array<TemplateExtras | undefined>): k8s.V1PodTemplateSpec {
  const labels = Object.assign({ app }, ...extras.map((extra) => extra?.labels ?? {}));
  const annotations = Object.assign({}, ...extras.map((extra) => extra?.annotations ?? {}));
  return {
    metadata: { labels, annotations },
    spec: { containers: [{ name: "app", image: "registry.example/shop/app:1.0" }] },
  };
}

export async function createAppNamespace(
  clients: E2eClients,
  name: string,
  options: AppNamespaceOptions = {},
): Promise<void> {
  await clients.core.createNamespace({
    body: {
      metadata: {
        name,
        labels: { ...UNRELATED_LABELS, ...(options.labels ?? {}) },
        annotations: { ...UNRELATED_ANNOTATIONS, ...(options.annotations ?? {}) },
      },
    },
  });
  await clients.apps.createNamespacedDeployment({
    namespace: name,
    body: {
      metadata: { name: "web" },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: "web" } },
        template: template("web", options.podTemplate, options.deploymentTemplate),
      },
    },
  });
  if (options.deploymentOnly) return;
  await clients.apps.createNamespacedStatefulSet({
    namespace: name,
    body: {
      metadata: { name: "db" },
      spec: {
        replicas: 2,
        serviceName: "db",
        selector: { matchLabels: { app: "db" } },
        template: template("db", options.podTemplate),
      },
    },
  });
  await clients.apps.createNamespacedDaemonSet({
    namespace: name,
    body: {
      metadata: { name: "agent" },
      spec: { selector: { matchLabels: { app: "agent" } }, template: template("agent", options.podTemplate) },
    },
  });
}

/** Live pods of a namespace (not terminating). */
export async function livePods(clients: E2eClients, namespace: string): Promise<k8s.V1Pod[]> {
  const pods = await clients.core.listNamespacedPod({ namespace });
  return pods.items.filter((p) => !p.metadata?.deletionTimestamp);
}

/** The mesh whose proxy a container is: consul-dataplane-<service> is Consul's on a multi-port pod. */
function proxyMesh(containerName: string): string | undefined {
  if (containerName === "istio-proxy") return "istio";
  if (containerName === "linkerd-proxy") return "linkerd";
  if (containerName === "consul-dataplane" || containerName.startsWith("consul-dataplane-")) return "consul";
  return undefined;
}

export function proxiesOf(pod: k8s.V1Pod): string[] {
  const names = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].map((c) => c.name);
  return names.filter((name) => proxyMesh(name) !== undefined);
}

export function meshOf(pod: k8s.V1Pod): string {
  const meshes = new Set(proxiesOf(pod).map(proxyMesh));
  if (meshes.size > 1) return "double";
  const [mesh] = meshes;
  if (mesh !== undefined) return mesh;
  if (pod.metadata?.annotations?.["ambient.istio.io/redirection"] === "enabled") return "istio-ambient";
  return "none";
}

/** Waits until every workload of the namespace is ready and every live pod is on `mesh`. */
export async function waitForAppsOn(
  clients: E2eClients,
  namespace: string,
  mesh: string,
  expectedPods = 8,
): Promise<k8s.V1Pod[]> {
  return waitFor(
    async () => {
      // The app's pods: a waypoint's (run by the mesh itself) is not one of them.
      const pods = (await livePods(clients, namespace)).filter(
        (p) => !meshRunsOwnPod(p.metadata?.labels ?? {}),
      );
      const ready = pods.filter((p) =>
        p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
      );
      return ready.length === expectedPods &&
        pods.length === expectedPods &&
        pods.every((p) => meshOf(p) === mesh)
        ? pods
        : undefined;
    },
    { description: `${expectedPods} Ready pods on ${mesh} in ${namespace}`, timeoutMs: 120_000 },
  );
}

export async function namespaceMetadata(clients: E2eClients, name: string) {
  const ns = await clients.core.readNamespace({ name });
  return { labels: ns.metadata?.labels ?? {}, annotations: ns.metadata?.annotations ?? {} };
}

/**
 * Waits until every Deployment of the namespace has finished reporting its rollout, so nothing
 * but the code under test changes its objects afterwards (for resourceVersion comparisons).
 */
export async function waitForSettled(clients: E2eClients, namespace: string): Promise<void> {
  await waitFor(
    async () => {
      const list = await clients.apps.listNamespacedDeployment({ namespace });
      return list.items.every((d) => {
        const s = d.status;
        const replicas = d.spec?.replicas ?? 1;
        return (
          (s?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) &&
          (s?.availableReplicas ?? 0) === replicas &&
          s?.conditions?.find((c) => c.type === "Progressing")?.reason === "NewReplicaSetAvailable"
        );
      });
    },
    { description: `deployments in ${namespace} to settle` },
  );
}
