// The workloads the benchmark moves: namespaces on Istio sidecars, each with Deployments of
// a few replicas, created through the apiserver so the real injectors mesh every pod.
import * as k8s from "@kubernetes/client-node";

export interface FleetShape {
  namespaces: number;
  deployments: number;
  replicas: number;
}

export const podsOf = (shape: FleetShape): number => shape.namespaces * shape.deployments * shape.replicas;

export function fleetNames(prefix: string, shape: FleetShape): string[] {
  return Array.from({ length: shape.namespaces }, (_, i) => `${prefix}-${String(i).padStart(3, "0")}`);
}

async function createNamespace(apps: k8s.AppsV1Api, core: k8s.CoreV1Api, name: string, shape: FleetShape) {
  await core.createNamespace({ body: { metadata: { name, labels: { "istio-injection": "enabled" } } } });
  for (let d = 0; d < shape.deployments; d++) {
    const app = `app-${d}`;
    await apps.createNamespacedDeployment({
      namespace: name,
      body: {
        metadata: { name: app },
        spec: {
          replicas: shape.replicas,
          selector: { matchLabels: { app } },
          strategy: { rollingUpdate: { maxSurge: "100%", maxUnavailable: "50%" } },
          template: {
            metadata: { labels: { app } },
            spec: {
              containers: [
                { name: "app", image: "registry.example/app:1", ports: [{ containerPort: 8080 }] },
              ],
            },
          },
        },
      },
    });
  }
}

/** Creates the namespaces, a few at a time. */
export async function createFleet(kc: k8s.KubeConfig, names: readonly string[], shape: FleetShape) {
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  for (let i = 0; i < names.length; i += 8) {
    await Promise.all(names.slice(i, i + 8).map((name) => createNamespace(apps, core, name, shape)));
  }
}

/** Every Deployment of these namespaces fully rolled out. */
export async function fleetRolledOut(kc: k8s.KubeConfig, names: readonly string[]): Promise<boolean> {
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const wanted = new Set(names);
  const list = await apps.listDeploymentForAllNamespaces();
  const mine = list.items.filter((d) => wanted.has(d.metadata?.namespace ?? ""));
  if (mine.length === 0) return false;
  return mine.every((d) => {
    const replicas = d.spec?.replicas ?? 1;
    const status = d.status ?? {};
    return (
      (status.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
      status.updatedReplicas === replicas &&
      status.readyReplicas === replicas &&
      (status.replicas ?? 0) === replicas
    );
  });
}

export async function deleteFleet(kc: k8s.KubeConfig, names: readonly string[]): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  for (const name of names) await core.deleteNamespace({ name }).catch(() => undefined);
}
