// The local cluster behaves like a real one where the operator depends on it:
// workloads become Ready and pod-template changes roll out to completion.
import type * as k8s from "@kubernetes/client-node";
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { e2eClients, uniqueName } from "../support/kube.ts";
import { waitFor } from "../support/wait.ts";

const { core, apps } = e2eClients();
const namespace = uniqueName("cluster");
const labels = { app: "probe" };
const template: k8s.V1PodTemplateSpec = {
  metadata: { labels },
  spec: { containers: [{ name: "app", image: "registry.example/app:1" }] },
};

async function podsReady(selector: string): Promise<number> {
  const pods = await core.listNamespacedPod({ namespace, labelSelector: selector });
  return pods.items.filter(
    (p) =>
      !p.metadata?.deletionTimestamp &&
      p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
  ).length;
}

beforeAll(async () => {
  await core.createNamespace({ body: { metadata: { name: namespace } } });
});

afterAll(async () => {
  await core.deleteNamespace({ name: namespace });
});

describe("local cluster", () => {
  it("runs a Deployment, a StatefulSet and a DaemonSet to Ready and rolls each after a template change", async () => {
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: "web" },
        spec: {
          replicas: 3,
          selector: { matchLabels: { ...labels, kind: "deploy" } },
          template: withKind(template, "deploy"),
        },
      },
    });
    await apps.createNamespacedStatefulSet({
      namespace,
      body: {
        metadata: { name: "db" },
        spec: {
          replicas: 2,
          serviceName: "db",
          selector: { matchLabels: { ...labels, kind: "sts" } },
          template: withKind(template, "sts"),
        },
      },
    });
    await apps.createNamespacedDaemonSet({
      namespace,
      body: {
        metadata: { name: "agent" },
        spec: { selector: { matchLabels: { ...labels, kind: "ds" } }, template: withKind(template, "ds") },
      },
    });

    await waitFor(async () => (await podsReady("kind=deploy")) === 3, {
      description: "3 deployment pods Ready",
    });
    await waitFor(async () => (await podsReady("kind=sts")) === 2, {
      description: "2 statefulset pods Ready",
    });
    await waitFor(async () => (await podsReady("kind=ds")) === 3, {
      description: "a daemonset pod on each of 3 nodes",
    });

    const bump = { spec: { template: { metadata: { annotations: { "example.com/rev": "2" } } } } };
    const options = setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch);
    await apps.patchNamespacedDeployment({ name: "web", namespace, body: bump }, options);
    await apps.patchNamespacedStatefulSet({ name: "db", namespace, body: bump }, options);
    await apps.patchNamespacedDaemonSet({ name: "agent", namespace, body: bump }, options);

    await waitFor(
      async () => {
        const d = await apps.readNamespacedDeployment({ name: "web", namespace });
        const s = d.status;
        return (
          s?.observedGeneration === d.metadata?.generation &&
          s?.updatedReplicas === 3 &&
          s?.readyReplicas === 3 &&
          (s?.replicas ?? 0) === 3
        );
      },
      { description: "deployment rollout complete" },
    );
    await waitFor(
      async () => {
        const s = await apps.readNamespacedStatefulSet({ name: "db", namespace });
        return (
          s.status?.observedGeneration === s.metadata?.generation &&
          s.status?.updateRevision === s.status?.currentRevision &&
          s.status?.readyReplicas === 2
        );
      },
      { description: "statefulset rollout complete" },
    );
    await waitFor(
      async () => {
        const d = await apps.readNamespacedDaemonSet({ name: "agent", namespace });
        return (
          d.status?.observedGeneration === d.metadata?.generation &&
          d.status?.updatedNumberScheduled === 3 &&
          d.status?.numberAvailable === 3
        );
      },
      { description: "daemonset rollout complete" },
    );
    const pods = await core.listNamespacedPod({ namespace });
    const live = pods.items.filter((p) => !p.metadata?.deletionTimestamp);
    expect(live).toHaveLength(8);
    for (const pod of live) {
      expect(pod.metadata?.annotations?.["example.com/rev"]).toBe("2");
      expect(pod.status?.podIP).toBeTruthy();
    }
  });
});

function withKind(t: k8s.V1PodTemplateSpec, kind: string): k8s.V1PodTemplateSpec {
  return { ...t, metadata: { labels: { ...labels, kind } } };
}
