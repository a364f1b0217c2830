// Meshes we do not drive are still meshes, end to end: a namespace whose pods run Kuma's
// kuma-sidecar (shaped like kuma/inject.01.golden.yaml) halts a migration before any change, as a
// condition and an Event, and spec.dryRun shows the same blocker; once those pods leave Kuma the
// migration goes on by itself; and the double-mesh guard, evaluated by the real apiserver, refuses
// Linkerd's proxy on a Kuma pod in the migrated namespace.
import type * as k8s from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { livePods, waitForAppsOn, waitForSettled } from "../support/apps.ts";
import { uniqueName } from "../support/kube.ts";
import { kubectl } from "../support/kubectl.ts";
import {
  applyMigration,
  condition,
  eventsOf,
  getMigration,
  kubectlWaitReady,
  waitForMigration,
} from "../support/migrations.ts";
import { migrationSuite } from "../support/suite.ts";
import { waitFor } from "../support/wait.ts";

const suite = migrationSuite();
const { clients, migrationName, patchSpec } = suite;

const KUMA_LABEL = "kuma.io/sidecar-injection";
/** What Kuma's injector leaves on a pod: its marker, kuma-init and a native kuma-sidecar. */
const KUMA_ANNOTATIONS = { "kuma.io/sidecar-injected": "true" };
const KUMA_INIT_CONTAINERS: k8s.V1Container[] = [
  { name: "kuma-init", image: "kuma/kuma-init:latest" },
  { name: "kuma-sidecar", image: "kuma/kuma-sidecar:latest", restartPolicy: "Always" },
];
const APP: k8s.V1Container = { name: "app", image: "registry.example/shop/app:1.0" };

function deploymentOf(name: string, replicas: number, kuma: boolean): k8s.V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations: kuma ? KUMA_ANNOTATIONS : {} },
        spec: { containers: [APP], initContainers: kuma ? KUMA_INIT_CONTAINERS : [] },
      },
    },
  };
}

/** A namespace in Kuma's mesh with Deployment web (2 Kuma pods) and Deployment api (1 unmeshed pod). */
async function kumaNamespace(prefix: string): Promise<string> {
  const name = suite.trackNamespace(uniqueName(prefix));
  await clients.core.createNamespace({ body: { metadata: { name, labels: { [KUMA_LABEL]: "enabled" } } } });
  await clients.apps.createNamespacedDeployment({ namespace: name, body: deploymentOf("web", 2, true) });
  await clients.apps.createNamespacedDeployment({ namespace: name, body: deploymentOf("api", 1, false) });
  await waitForAppsOn(clients, name, "none", 3);
  await waitForSettled(clients, name);
  return name;
}

/** resourceVersion of the namespace and of every Deployment and Pod in it. */
async function versions(namespace: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {
    namespace: (await clients.core.readNamespace({ name: namespace })).metadata?.resourceVersion ?? "",
  };
  for (const d of (await clients.apps.listNamespacedDeployment({ namespace })).items) {
    out[`deploy/${d.metadata?.name}`] = d.metadata?.resourceVersion ?? "";
  }
  for (const p of (await clients.core.listNamespacedPod({ namespace })).items) {
    out[`pod/${p.metadata?.name}`] = p.metadata?.resourceVersion ?? "";
  }
  return out;
}

function runsKuma(pod: k8s.V1Pod): boolean {
  return [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].some(
    (c) => c.name === "kuma-sidecar",
  );
}

async function kumaPodNames(namespace: string): Promise<string[]> {
  return (await livePods(clients, namespace))
    .filter(runsKuma)
    .map((p) => p.metadata?.name ?? "")
    .sort();
}

async function createError(namespace: string, body: k8s.V1Pod): Promise<string> {
  try {
    await clients.core.createNamespacedPod({ namespace, body });
  } catch (error) {
    return String((error as { body?: string }).body ?? error);
  }
  throw new Error(`pod ${body.metadata?.name} was admitted`);
}

function kumaPod(
  name: string,
  extra: { annotations?: Record<string, string>; initContainers?: k8s.V1Container[] },
) {
  return {
    metadata: { name, annotations: { ...KUMA_ANNOTATIONS, ...extra.annotations } },
    spec: { containers: [APP], initContainers: [...KUMA_INIT_CONTAINERS, ...(extra.initContainers ?? [])] },
  };
}

describe("meshes the operator does not drive", () => {
  let namespace: string;
  let migration: string;

  it("halt a migration from none before any change, in the dry-run plan and for real, naming the pods", async () => {
    namespace = await kumaNamespace("kuma");
    const pods = await kumaPodNames(namespace);
    expect(pods).toHaveLength(2);
    const before = await versions(namespace);

    migration = migrationName("foreign");
    await applyMigration(migration, {
      source: { mesh: "none" },
      target: { mesh: "linkerd" },
      batches: [{ name: "all", namespaces: [namespace] }],
      dryRun: true,
    });
    const planned = await waitForMigration(
      clients,
      migration,
      (m) => m.status?.phase === "Planning",
      "Planning",
    );
    const plan = (
      planned.status as { plan?: { blocked: boolean; blockers: Array<{ reason: string; message: string }> } }
    ).plan;
    expect(plan?.blocked).toBe(true);
    expect(plan?.blockers.map((b) => b.reason)).toEqual(["ForeignMeshPods"]);
    for (const pod of pods) expect(plan?.blockers[0]?.message).toContain(pod);

    await patchSpec(migration, { dryRun: false });
    const halted = await waitForMigration(
      clients,
      migration,
      (m) => condition(m, "Degraded")?.reason === "ForeignMeshPods",
      "Degraded ForeignMeshPods",
    );
    expect(halted.status?.phase).toBe("Failed");
    const message = condition(halted, "Degraded")?.message ?? "";
    expect(message).toContain(`2 pod(s) meshed by Kuma (kuma-sidecar): ${pods.join(", ")}`);
    expect(message).toContain(`leave namespace ${namespace} out of spec.batches`);
    const status = halted.status?.namespaces?.find((ns) => ns.name === namespace);
    expect(status).toMatchObject({ phase: "Blocked", pods: { unmeshed: 1 } });
    await waitFor(
      async () =>
        (await eventsOf(migration)).some(
          (e) => e.reason === "ForeignMeshPods" && e.type === "Warning" && e.message.includes(pods[0] ?? "?"),
        ),
      { description: "a ForeignMeshPods Warning Event" },
    );
    expect(await versions(namespace)).toEqual(before);
  });

  it("go on by themselves once those pods have left Kuma", async () => {
    await clients.apps.replaceNamespacedDeployment({
      name: "web",
      namespace,
      body: deploymentOf("web", 2, false),
    });
    // meshOf knows only our meshes: wait for the Kuma pods themselves to be gone.
    await waitFor(async () => (await kumaPodNames(namespace)).length === 0, {
      description: `no kuma-sidecar pod left in ${namespace}`,
      timeoutMs: 120_000,
    });
    await waitForAppsOn(clients, namespace, "none", 3);
    const unlabelled = await kubectl(["label", "namespace", namespace, `${KUMA_LABEL}-`]);
    expect(unlabelled.code, unlabelled.stderr).toBe(0);
    await kubectlWaitReady(migration, 240);
    await waitForAppsOn(clients, namespace, "linkerd", 3);
    expect(condition(await getMigration(clients, migration), "Degraded")?.status).toBe("False");
  });

  it("are refused Linkerd's proxy by the double-mesh guard, naming both meshes and the migration", async () => {
    // Both proxies written in the pod: the guard alone decides.
    const both = await waitFor(
      async () =>
        createError(
          namespace,
          kumaPod(`both-${Date.now()}`, {
            annotations: { "linkerd.io/inject": "disabled" },
            initContainers: [{ name: "linkerd-proxy", image: "proxy", restartPolicy: "Always" }],
          }),
        ).catch(() => undefined),
      { description: "the guard to refuse a Kuma pod carrying linkerd-proxy" },
    );
    expect(both).toContain("meshed by Kuma (kuma-sidecar) and carries linkerd-proxy (Linkerd)");
    expect(both).toContain(migration);
    // A Kuma pod in the Linkerd namespace: Linkerd's injector adds its proxy, and the guard refuses it.
    const injected = await createError(namespace, kumaPod("kuma-joins-linkerd", {}));
    expect(injected).toContain("meshed by Kuma");
    // A Kuma pod that opts out of Linkerd is one mesh's: admitted.
    await clients.core.createNamespacedPod({
      namespace,
      body: kumaPod("kuma-only", { annotations: { "linkerd.io/inject": "disabled" } }),
    });
    await clients.core.deleteNamespacedPod({ name: "kuma-only", namespace });
  });
});
