// The demo's sample applications: three namespaces meshed by Istio from the start
// (istio-injection=enabled), two of them labelled team=payments for the selector batch.
// Created only when missing: once the operator has moved a namespace, re-applying its
// original labels would hand it back to Istio behind the operator's back.
import * as k8s from "@kubernetes/client-node";
import { podOnMesh } from "../../src/meshes/registry.ts";
import { DEMO_LABEL_KEY, DEMO_LABEL_VALUE } from "./settings.ts";

export interface DemoWorkload {
  kind: "Deployment" | "StatefulSet";
  name: string;
  replicas: number;
}

export interface DemoNamespace {
  name: string;
  /** Labels besides the mesh label and the demo label. */
  labels: Record<string, string>;
  workloads: DemoWorkload[];
}

export const DEMO_NAMESPACES: readonly DemoNamespace[] = [
  {
    name: "demo-frontend",
    labels: { team: "storefront" },
    workloads: [{ kind: "Deployment", name: "web", replicas: 2 }],
  },
  {
    name: "demo-payments",
    labels: { team: "payments" },
    workloads: [
      { kind: "Deployment", name: "payments-api", replicas: 2 },
      { kind: "StatefulSet", name: "ledger", replicas: 2 },
    ],
  },
  {
    name: "demo-orders",
    labels: { team: "payments" },
    workloads: [{ kind: "Deployment", name: "orders", replicas: 2 }],
  },
];

/** Every label a demo namespace is created with. */
export function namespaceLabels(ns: DemoNamespace): Record<string, string> {
  return { ...ns.labels, [DEMO_LABEL_KEY]: DEMO_LABEL_VALUE, "istio-injection": "enabled" };
}

export function expectedPods(ns: DemoNamespace): number {
  return ns.workloads.reduce((sum, w) => sum + w.replicas, 0);
}

function podTemplate(app: string): k8s.V1PodTemplateSpec {
  return {
    metadata: { labels: { app, [DEMO_LABEL_KEY]: DEMO_LABEL_VALUE } },
    // The fake nodes (kwok) never pull or run the image: any name does.
    spec: { containers: [{ name: app, image: `registry.example/demo/${app}:1.0` }] },
  };
}

const isConflict = (error: unknown) => (error as { code?: number }).code === 409;

/** Creates what is missing; returns the namespaces that did not exist before. */
export async function ensureDemoApps(kc: k8s.KubeConfig, log: (line: string) => void): Promise<string[]> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const created: string[] = [];
  for (const ns of DEMO_NAMESPACES) {
    // A namespace still terminating (a --clean just before) cannot be reused: let it go first.
    await waitUntilGone(core, ns.name, 120_000, (name) =>
      log(`waiting for namespace ${name} to finish terminating`),
    );
    try {
      await core.createNamespace({ body: { metadata: { name: ns.name, labels: namespaceLabels(ns) } } });
      created.push(ns.name);
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
    for (const workload of ns.workloads) {
      const metadata = { name: workload.name, labels: { [DEMO_LABEL_KEY]: DEMO_LABEL_VALUE } };
      const selector = { matchLabels: { app: workload.name } };
      try {
        if (workload.kind === "Deployment") {
          await apps.createNamespacedDeployment({
            namespace: ns.name,
            body: {
              metadata,
              spec: { replicas: workload.replicas, selector, template: podTemplate(workload.name) },
            },
          });
        } else {
          await apps.createNamespacedStatefulSet({
            namespace: ns.name,
            body: {
              metadata,
              spec: {
                replicas: workload.replicas,
                serviceName: workload.name,
                selector,
                template: podTemplate(workload.name),
              },
            },
          });
        }
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
    const what = ns.workloads.map((w) => `${w.kind.toLowerCase()}/${w.name}`).join(", ");
    log(`${created.includes(ns.name) ? "created" : "reusing"} ${ns.name} (${what})`);
  }
  return created;
}

/** How many of the namespace's live pods are Ready and on Istio, out of how many expected. */
async function istioReadiness(
  core: k8s.CoreV1Api,
  ns: DemoNamespace,
): Promise<{ ready: number; of: number }> {
  const pods = (await core.listNamespacedPod({ namespace: ns.name })).items.filter(
    (p) => !p.metadata?.deletionTimestamp,
  );
  const ready = pods.filter(
    (p) =>
      podOnMesh(p, { mesh: "istio" }) &&
      p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
  );
  return { ready: pods.length === expectedPods(ns) ? ready.length : 0, of: expectedPods(ns) };
}

/** Waits until every demo pod is Ready with an istio-proxy; throws with what is missing after timeoutMs. */
export async function waitForAppsOnIstio(
  kc: k8s.KubeConfig,
  timeoutMs: number,
  log: (line: string) => void,
): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const deadline = Date.now() + timeoutMs;
  const done = new Set<string>();
  let last = "";
  while (done.size < DEMO_NAMESPACES.length) {
    const waiting: string[] = [];
    for (const ns of DEMO_NAMESPACES) {
      if (done.has(ns.name)) continue;
      const { ready, of } = await istioReadiness(core, ns);
      if (ready === of) {
        done.add(ns.name);
        log(`${ns.name}: ${of}/${of} pods Ready with istio-proxy`);
      } else {
        waiting.push(`${ns.name} ${ready}/${of}`);
      }
    }
    if (waiting.length === 0) return;
    last = waiting.join(", ");
    if (Date.now() > deadline) {
      throw new Error(
        `the sample applications did not come up on Istio within ${Math.round(timeoutMs / 1000)}s ` +
          `(pods Ready with istio-proxy: ${last}). If an earlier run moved them already, ` +
          "`npm run demo -- --clean` starts over.",
      );
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

const isNotFound = (error: unknown) => (error as { code?: number }).code === 404;

/** Returns once the namespace is absent, or is not being deleted; throws after timeoutMs. */
async function waitUntilGone(
  core: k8s.CoreV1Api,
  name: string,
  timeoutMs: number,
  onWait?: (name: string) => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    const ns = await core.readNamespace({ name }).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    if (!ns?.metadata?.deletionTimestamp) return;
    if (!told) onWait?.(name);
    told = true;
    if (Date.now() > deadline) {
      throw new Error(`namespace ${name} is still terminating after ${Math.round(timeoutMs / 1000)}s`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Deletes the demo namespaces (and with them everything in them) and waits until they are gone. */
export async function deleteDemoApps(kc: k8s.KubeConfig, log: (line: string) => void): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  for (const ns of DEMO_NAMESPACES) {
    const deleted = await core.deleteNamespace({ name: ns.name }).then(
      () => true,
      (error: unknown) => {
        if (isNotFound(error)) return false;
        throw error;
      },
    );
    log(deleted ? `deleting namespace ${ns.name}` : `namespace ${ns.name}: already gone`);
  }
  for (const ns of DEMO_NAMESPACES) await waitUntilGone(core, ns.name, 120_000);
}
