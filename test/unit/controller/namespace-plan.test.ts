import { describe, expect, it } from "vitest";
import { decodeStamp, encodeStamp } from "../../../src/controller/bookkeeping.ts";
import type { PodObservation } from "../../../src/controller/facts.ts";
import { planNamespaceForward } from "../../../src/controller/namespace/forward.ts";
import { deployment, forwardInput, namespace, ownedBy, pod } from "./builders.ts";

const ISTIO = { mesh: "istio" as const };
const LINKERD = { mesh: "linkerd" as const };
const AMBIENT = { mesh: "istio-ambient" as const };
const ORIGINAL = { labels: { "istio-injection": "enabled" }, annotations: {} };

/** A pod as the restart made it: its template's restart stamp copied onto it. */
function restartedPod(p: PodObservation, stamp: string): PodObservation {
  return {
    ...p,
    metadata: {
      ...p.metadata,
      annotations: { ...p.metadata.annotations, "meshmigration.io/restarted-for": stamp },
    },
  };
}

describe("forward plan for one namespace", () => {
  it("records the original mesh markers and the owner before changing anything", () => {
    const plan = planNamespaceForward(
      forwardInput(ISTIO, LINKERD, {
        ns: namespace("shop", { "istio-injection": "enabled", team: "a" }, { "owner.example/contact": "x" }),
      }),
    );
    expect(plan.actions).toEqual([
      expect.objectContaining({
        type: "RecordOriginal",
        namespace: "shop",
        owner: "move",
        original: { labels: { "istio-injection": "enabled" }, annotations: {} },
      }),
    ]);
  });

  it("then swaps the source's markers for the target's in one relabel", () => {
    const plan = planNamespaceForward(
      forwardInput(ISTIO, LINKERD, {
        ns: namespace("shop", { "istio-injection": "enabled", team: "a" }, ownedBy("move", ORIGINAL)),
      }),
    );
    expect(plan.actions).toHaveLength(1);
    const [relabel] = plan.actions;
    expect(relabel).toMatchObject({
      type: "Relabel",
      change: {
        set: { labels: {}, annotations: { "linkerd.io/inject": "enabled" } },
        remove: { labels: ["istio-injection"], annotations: [] },
      },
    });
  });

  it("does not join ambient while a pod no workload manages still runs linkerd's proxy", () => {
    // Found by the simulation suite: istio-cni would capture the Job's linkerd pod into two meshes.
    const drained = namespace(
      "shop",
      {},
      ownedBy("move", { labels: {}, annotations: { "linkerd.io/inject": "enabled" } }),
    );
    const jobPod = pod("backup-x7", "none", "linkerd", { owner: undefined, unmanaged: true });
    const plan = planNamespaceForward(
      forwardInput(LINKERD, AMBIENT, {
        ns: drained,
        workloads: [deployment("web")],
        pods: [pod("web-1", "web", "none"), jobPod],
      }),
    );
    expect(plan.actions).toEqual([]);
    expect(plan.phase).toBe("Blocked");
    expect(plan.problem).toMatchObject({ reason: "UnmanagedPodsOnSource", halts: false });
    expect(plan.problem?.message).toContain("backup-x7");

    const gone = planNamespaceForward(
      forwardInput(LINKERD, AMBIENT, {
        ns: drained,
        workloads: [deployment("web")],
        pods: [pod("web-1", "web", "none")],
      }),
    );
    expect(gone.actions).toEqual([expect.objectContaining({ type: "Relabel" })]);
  });

  it("restarts one workload first, and stamps the restart", () => {
    const ns = namespace("shop", {}, { ...ownedBy("move", ORIGINAL), "linkerd.io/inject": "enabled" });
    const workloads = ["a", "b", "c"].map((name) => deployment(name));
    const pods = workloads.map((w) => pod(`${w.name}-1`, w.name, "istio"));
    const plan = planNamespaceForward(
      forwardInput(ISTIO, LINKERD, { ns, workloads, pods, maxConcurrentRollouts: 2 }),
    );
    expect(plan.phase).toBe("Restarting");
    expect(plan.actions.map((a) => a.type === "RestartWorkload" && a.name)).toEqual(["a"]);
    const stamp =
      plan.actions[0]?.type === "RestartWorkload" ? decodeStamp(plan.actions[0].stamp) : undefined;
    expect(stamp).toMatchObject({ migration: "move", direction: "forward", attempt: 1 });
  });

  it("starts no other restart while the first one rolls or has not verified on the target", () => {
    const ns = namespace("shop", {}, { ...ownedBy("move", ORIGINAL), "linkerd.io/inject": "enabled" });
    const now = Date.parse("2026-11-22T10:00:00Z");
    const stamp = encodeStamp({ migration: "move", direction: "forward", attempt: 1, startedAt: now - 1000 });
    const stamped = { labels: {}, annotations: { "meshmigration.io/restarted-for": stamp } };
    const others = ["b", "c"].map((name) => deployment(name));
    const otherPods = others.map((w) => pod(`${w.name}-1`, w.name, "istio"));
    const plan = (first: ReturnType<typeof deployment>, firstPods: ReturnType<typeof pod>[]) =>
      planNamespaceForward(
        forwardInput(ISTIO, LINKERD, {
          ns,
          workloads: [first, ...others],
          pods: [...firstPods, ...otherPods],
          maxConcurrentRollouts: 2,
          now,
        }),
      );

    const rolling = plan(deployment("a", { rolledOut: false, template: stamped }), [
      pod("a-2", "a", "linkerd"),
    ]);
    expect(rolling.actions).toEqual([]);

    // Came back unmeshed (a fail-open injector that is down): retried after a backoff, others wait.
    const unmeshed = plan(deployment("a", { template: stamped }), [
      restartedPod(pod("a-2", "a", "none"), stamp),
    ]);
    expect(unmeshed.actions).toEqual([]);
    expect(unmeshed.recheckAfterMs).toBeGreaterThan(10_000);

    const verified = plan(deployment("a", { template: stamped }), [
      restartedPod(pod("a-2", "a", "linkerd"), stamp),
    ]);
    expect(verified.actions.map((a) => a.type === "RestartWorkload" && a.name)).toEqual(["b", "c"]);
  });

  it("retries a restart whose pods came back unmeshed only after its backoff", () => {
    const ns = namespace("shop", {}, { ...ownedBy("move", ORIGINAL), "linkerd.io/inject": "enabled" });
    const startedAt = Date.parse("2026-11-22T10:00:00Z");
    const stamp = encodeStamp({ migration: "move", direction: "forward", attempt: 1, startedAt });
    const done = deployment("a", {
      template: { labels: {}, annotations: { "meshmigration.io/restarted-for": stamp } },
    });
    const at = (now: number) =>
      planNamespaceForward(
        forwardInput(ISTIO, LINKERD, {
          ns,
          workloads: [done],
          pods: [restartedPod(pod("a-2", "a", "none"), stamp)],
          now,
        }),
      );
    expect(at(startedAt + 5_000).actions).toEqual([]);
    expect(at(startedAt + 16_000).actions).toEqual([expect.objectContaining({ type: "RestartWorkload" })]);
  });

  it("says which pods run on no mesh instead of calling the namespace verified", () => {
    const ns = namespace("shop", {}, { ...ownedBy("move", ORIGINAL), "linkerd.io/inject": "enabled" });
    const stamp = encodeStamp({ migration: "move", direction: "forward", attempt: 1, startedAt: 0 });
    const stamped = { annotations: { "meshmigration.io/restarted-for": stamp } };
    const web = deployment("web", { template: { labels: {}, ...stamped } });
    const legacy = deployment("legacy", {
      template: { labels: {}, annotations: { ...stamped.annotations, "linkerd.io/inject": "disabled" } },
    });
    const plan = planNamespaceForward(
      forwardInput(ISTIO, LINKERD, {
        ns,
        workloads: [web, legacy],
        pods: [pod("web-2", "web", "linkerd"), pod("legacy-2", "legacy", "none")],
      }),
    );
    expect(plan.phase).toBe("Migrated");
    expect(plan.pods.unmeshed).toBe(1);
    expect(plan.message).not.toContain("every pod");
    expect(plan.message).toContain("deployment/legacy run on no mesh");
  });

  it("does not restart a workload whose template already carries this step's stamp", () => {
    const ns = namespace("shop", {}, { ...ownedBy("move", ORIGINAL), "linkerd.io/inject": "enabled" });
    const now = Date.parse("2026-11-22T10:00:00Z");
    const stamp = encodeStamp({ migration: "move", direction: "forward", attempt: 1, startedAt: now - 1000 });
    const rolling = deployment("a", {
      rolledOut: false,
      template: { labels: {}, annotations: { "meshmigration.io/restarted-for": stamp } },
    });
    const plan = planNamespaceForward(
      forwardInput(ISTIO, LINKERD, { ns, workloads: [rolling], pods: [pod("a-1", "a", "istio")], now }),
    );
    expect(plan.actions).toEqual([]);
    expect(plan.phase).toBe("Restarting");
    expect(plan.recheckAfterMs).toBeGreaterThan(0);
  });

  it("halts a rollout that outlives rolloutTimeout", () => {
    const ns = namespace("shop", {}, { ...ownedBy("move", ORIGINAL), "linkerd.io/inject": "enabled" });
    const now = Date.parse("2026-11-22T10:00:00Z");
    const stamp = encodeStamp({
      migration: "move",
      direction: "forward",
      attempt: 1,
      startedAt: now - 11 * 60_000,
    });
    const stuck = deployment("a", {
      rolledOut: false,
      template: { labels: {}, annotations: { "meshmigration.io/restarted-for": stamp } },
    });
    const plan = planNamespaceForward(forwardInput(ISTIO, LINKERD, { ns, workloads: [stuck], now }));
    expect(plan.phase).toBe("Failed");
    expect(plan.problem).toMatchObject({ reason: "RolloutTimeout", halts: true });
    expect(plan.problem?.message).toContain("deployment/a");
  });

  it("counts the namespace migrated only when every pod is on the target and none on the source", () => {
    const ns = namespace("shop", {}, { ...ownedBy("move", ORIGINAL), "linkerd.io/inject": "enabled" });
    const stamp = encodeStamp({ migration: "move", direction: "forward", attempt: 1, startedAt: 0 });
    const done = deployment("a", {
      template: { labels: {}, annotations: { "meshmigration.io/restarted-for": stamp } },
    });
    const migrated = planNamespaceForward(
      forwardInput(ISTIO, LINKERD, { ns, workloads: [done], pods: [pod("a-2", "a", "linkerd")] }),
    );
    expect(migrated.phase).toBe("Migrated");
    expect(migrated.pods).toEqual({ target: 1, source: 0, unmeshed: 0, doubleMeshed: 0 });

    const stillOld = planNamespaceForward(
      forwardInput(ISTIO, LINKERD, {
        ns,
        workloads: [done],
        pods: [pod("a-2", "a", "linkerd"), pod("a-1", "a", "istio", { terminating: true })],
      }),
    );
    expect(stillOld.phase).not.toBe("Migrated");
  });

  it("does not restart again while the only wrong pods are from before the restart (a lagging pod cache)", () => {
    // After a watch outage the workload's status can arrive before its pods' updates: rolled out,
    // yet the cache still shows the old pods on the source mesh. They are not the restart's pods.
    const ns = namespace("shop", {}, { ...ownedBy("move", ORIGINAL), "linkerd.io/inject": "enabled" });
    const now = Date.parse("2026-11-22T10:00:00Z");
    const stamp = encodeStamp({ migration: "move", direction: "forward", attempt: 1, startedAt: now - 5000 });
    const done = deployment("a", {
      template: { labels: {}, annotations: { "meshmigration.io/restarted-for": stamp } },
    });
    const plan = planNamespaceForward(
      forwardInput(ISTIO, LINKERD, {
        ns,
        workloads: [done],
        pods: [pod("a-1", "a", "istio"), restartedPod(pod("a-2", "a", "linkerd"), stamp)],
        now,
      }),
    );
    expect(plan.actions).toEqual([]);
    expect(plan.phase).toBe("Restarting");
    expect(plan.recheckAfterMs).toBeGreaterThan(0);
  });

  it("restarts again, up to a limit, when pods came back unmeshed (an injector that let them through)", () => {
    const ns = namespace("shop", {}, { ...ownedBy("move", ORIGINAL), "linkerd.io/inject": "enabled" });
    const stamp = encodeStamp({ migration: "move", direction: "forward", attempt: 1, startedAt: 0 });
    const done = deployment("a", {
      template: { labels: {}, annotations: { "meshmigration.io/restarted-for": stamp } },
    });
    const plan = planNamespaceForward(
      forwardInput(ISTIO, LINKERD, {
        ns,
        workloads: [done],
        pods: [restartedPod(pod("a-2", "a", "none"), stamp)],
      }),
    );
    expect(plan.actions).toEqual([expect.objectContaining({ type: "RestartWorkload" })]);
    expect(plan.actions[0]?.event.reason).toBe("WorkloadRestartRetried");

    const last = encodeStamp({ migration: "move", direction: "forward", attempt: 3, startedAt: 0 });
    const exhausted = deployment("a", {
      template: { labels: {}, annotations: { "meshmigration.io/restarted-for": last } },
    });
    const failed = planNamespaceForward(
      forwardInput(ISTIO, LINKERD, {
        ns,
        workloads: [exhausted],
        pods: [restartedPod(pod("a-2", "a", "none"), last)],
      }),
    );
    expect(failed.problem).toMatchObject({ reason: "VerificationFailed", halts: true });
    expect(failed.problem?.message).toContain("1 pod(s) of deployment/a now run on no mesh");
    expect(failed.problem?.message).toContain("spec.rollback: true");
  });

  it("with workloadOverrides Fail, halts before touching the namespace and names the pinned workloads", () => {
    const pinned = deployment("legacy", {
      template: { labels: {}, annotations: { "sidecar.istio.io/inject": "true" } },
    });
    const plan = planNamespaceForward(
      forwardInput(ISTIO, LINKERD, {
        ns: namespace("shop", { "istio-injection": "enabled" }),
        workloads: [pinned],
        workloadOverrides: "Fail",
      }),
    );
    expect(plan.actions).toEqual([]);
    expect(plan.problem).toMatchObject({ reason: "WorkloadOverridesFound", halts: true });
    expect(plan.problem?.message).toContain("deployment/legacy");
  });

  it("with workloadOverrides Rewrite, rewrites the opt-in in the restart and records the original", () => {
    const ns = namespace("shop", {}, { ...ownedBy("move", ORIGINAL), "linkerd.io/inject": "enabled" });
    const pinned = deployment("legacy", {
      template: { labels: {}, annotations: { "sidecar.istio.io/inject": "true" } },
    });
    const plan = planNamespaceForward(
      forwardInput(ISTIO, LINKERD, { ns, workloads: [pinned], pods: [pod("legacy-1", "legacy", "istio")] }),
    );
    const [restart] = plan.actions;
    expect(restart?.type).toBe("RestartWorkload");
    if (restart?.type !== "RestartWorkload") return;
    expect(restart.templateChange.remove.annotations).toContain("sidecar.istio.io/inject");
    expect(restart.templateChange.set.annotations).toMatchObject({ "linkerd.io/inject": "enabled" });
    expect(JSON.parse(restart.templateOriginal ?? "{}")).toMatchObject({
      annotations: { "sidecar.istio.io/inject": "true", "linkerd.io/inject": null },
    });
  });

  it("restarts nothing and changes nothing while the target control plane is not ready", () => {
    const plan = planNamespaceForward(
      forwardInput(ISTIO, LINKERD, {
        ns: namespace("shop", { "istio-injection": "enabled" }),
        targetControlPlane: {
          ready: false,
          problems: ["Deployment linkerd/linkerd-proxy-injector has no available replicas"],
        },
      }),
    );
    expect(plan.actions).toEqual([]);
    expect(plan.problem?.reason).toBe("TargetControlPlaneNotReady");
    expect(plan.problem?.message).toContain("linkerd-proxy-injector");
  });

  it("leaves Linkerd and drains its proxies before enrolling the namespace in ambient", () => {
    const ns = namespace(
      "shop",
      {},
      {
        ...ownedBy("move", { labels: {}, annotations: { "linkerd.io/inject": "enabled" } }),
        "linkerd.io/inject": "enabled",
      },
    );
    const workloads = [deployment("a")];
    const first = planNamespaceForward(
      forwardInput(LINKERD, AMBIENT, { ns, workloads, pods: [pod("a-1", "a", "linkerd")] }),
    );
    expect(first.actions[0]).toMatchObject({
      type: "Relabel",
      change: { set: { labels: {}, annotations: {} }, remove: { annotations: ["linkerd.io/inject"] } },
    });

    const drained = namespace(
      "shop",
      {},
      ownedBy("move", { labels: {}, annotations: { "linkerd.io/inject": "enabled" } }),
    );
    const restart = planNamespaceForward(
      forwardInput(LINKERD, AMBIENT, { ns: drained, workloads, pods: [pod("a-1", "a", "linkerd")] }),
    );
    expect(restart.actions[0]?.type).toBe("RestartWorkload");

    const enroll = planNamespaceForward(
      forwardInput(LINKERD, AMBIENT, { ns: drained, workloads, pods: [pod("a-2", "a", "none")] }),
    );
    expect(enroll.actions[0]).toMatchObject({
      type: "Relabel",
      change: { set: { labels: { "istio.io/dataplane-mode": "ambient" } } },
    });
  });

  it("moves Istio sidecars to ambient in one relabel: ambient leaves Istio sidecar pods alone", () => {
    const ns = namespace("shop", { "istio-injection": "enabled" }, ownedBy("move", ORIGINAL));
    const plan = planNamespaceForward(
      forwardInput(ISTIO, AMBIENT, { ns, workloads: [deployment("a")], pods: [pod("a-1", "a", "istio")] }),
    );
    expect(plan.actions[0]).toMatchObject({
      type: "Relabel",
      change: {
        set: { labels: { "istio.io/dataplane-mode": "ambient" } },
        remove: { labels: ["istio-injection"] },
      },
    });
  });

  it("refuses a namespace another MeshMigration owns", () => {
    const plan = planNamespaceForward(
      forwardInput(ISTIO, LINKERD, { ns: namespace("shop", {}, { "meshmigration.io/owner": "other" }) }),
    );
    expect(plan.actions).toEqual([]);
    expect(plan.problem?.reason).toBe("NamespaceOwnedByAnotherMigration");
  });
});
