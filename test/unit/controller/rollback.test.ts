import { describe, expect, it } from "vitest";
import { encodeStamp } from "../../../src/controller/bookkeeping.ts";
import { finalizersWith } from "../../../src/controller/deletion.ts";
import {
  planNamespaceRollback,
  restoreChange,
  templateRestore,
} from "../../../src/controller/namespace/rollback.ts";
import { deployment, namespace, ownedBy, pod, READY_CONTROL_PLANE } from "./builders.ts";

const ISTIO = { mesh: "istio" as const };
const LINKERD = { mesh: "linkerd" as const };

describe("rollback of one namespace", () => {
  const original = { labels: { "istio-injection": "enabled" }, annotations: {} };

  it("restores exactly the recorded markers", () => {
    const change = restoreChange(ISTIO, LINKERD, original, {
      labels: { team: "a" },
      annotations: { "linkerd.io/inject": "enabled" },
    });
    expect(change).toEqual({
      set: { labels: { "istio-injection": "enabled" }, annotations: {} },
      remove: { labels: [], annotations: ["linkerd.io/inject"] },
    });
  });

  it("leaves a key a user changed meanwhile as the user left it", () => {
    const change = restoreChange(ISTIO, LINKERD, original, {
      labels: {},
      annotations: { "linkerd.io/inject": "disabled" },
    });
    expect(change.remove.annotations).toEqual([]);
    expect(change.set.labels).toEqual({ "istio-injection": "enabled" });
  });

  it("undoes a pod-template rewrite only where the template is still as the operator left it", () => {
    const record = {
      labels: {},
      annotations: { "sidecar.istio.io/inject": "true", "linkerd.io/inject": null },
    };
    const rewritten = { labels: {}, annotations: { "linkerd.io/inject": "enabled" } };
    expect(templateRestore(ISTIO, LINKERD, record, rewritten)).toEqual({
      set: { labels: {}, annotations: { "sidecar.istio.io/inject": "true" } },
      remove: { labels: [], annotations: ["linkerd.io/inject"] },
    });
    const userEdited = { labels: {}, annotations: { "linkerd.io/inject": "disabled" } };
    expect(templateRestore(ISTIO, LINKERD, record, userEdited).remove.annotations).toEqual([]);
  });

  it("returns a namespace that was on no mesh to no mesh, not to the source", () => {
    // Found by the round-trip property test: it was restarted again and again towards Istio.
    const unmeshed = { labels: {}, annotations: {} };
    const input = {
      migration: "move",
      source: ISTIO,
      target: LINKERD,
      maxConcurrentRollouts: 5,
      rolloutTimeoutMs: 600_000,
      workloads: [deployment("a")],
      sourceControlPlane: READY_CONTROL_PLANE,
      now: Date.parse("2026-11-22T10:00:00Z"),
      mayStart: true,
    };
    const migrated = namespace("shop", {}, { ...ownedBy("move", unmeshed), "linkerd.io/inject": "enabled" });
    const relabel = planNamespaceRollback({ ...input, ns: migrated, pods: [pod("a-1", "a", "linkerd")] });
    expect(relabel.actions[0]).toMatchObject({
      type: "Relabel",
      change: { remove: { annotations: ["linkerd.io/inject"] } },
    });

    const restored = namespace("shop", {}, ownedBy("move", unmeshed));
    const restart = planNamespaceRollback({ ...input, ns: restored, pods: [pod("a-1", "a", "linkerd")] });
    expect(restart.actions[0]).toMatchObject({ type: "RestartWorkload", name: "a" });

    const stamp = encodeStamp({ migration: "move", direction: "rollback", attempt: 1, startedAt: input.now });
    const done = planNamespaceRollback({
      ...input,
      ns: restored,
      workloads: [
        deployment("a", {
          template: { labels: { app: "a" }, annotations: { "meshmigration.io/restarted-for": stamp } },
        }),
      ],
      pods: [pod("a-2", "a", "none")],
    });
    expect(done).toMatchObject({ phase: "RolledBack", actions: [] });
    expect(done.message).toContain("recorded original markers");
  });

  it("relabels, then restarts, then reports RolledBack once pods are back on the source", () => {
    const owned = { ...ownedBy("move", original), "linkerd.io/inject": "enabled" };
    const input = {
      migration: "move",
      source: ISTIO,
      target: LINKERD,
      maxConcurrentRollouts: 5,
      rolloutTimeoutMs: 600_000,
      workloads: [deployment("a")],
      sourceControlPlane: READY_CONTROL_PLANE,
      now: Date.parse("2026-11-22T10:00:00Z"),
      mayStart: true,
    };
    const relabel = planNamespaceRollback({
      ...input,
      ns: namespace("shop", {}, owned),
      pods: [pod("a-1", "a", "linkerd")],
    });
    expect(relabel.actions[0]).toMatchObject({ type: "Relabel", event: { reason: "NamespaceRestored" } });

    const restored = namespace("shop", { "istio-injection": "enabled" }, ownedBy("move", original));
    const restart = planNamespaceRollback({ ...input, ns: restored, pods: [pod("a-1", "a", "linkerd")] });
    expect(restart.actions[0]).toMatchObject({ type: "RestartWorkload", name: "a" });

    const stamp = encodeStamp({ migration: "move", direction: "rollback", attempt: 1, startedAt: input.now });
    const done = planNamespaceRollback({
      ...input,
      ns: restored,
      workloads: [
        deployment("a", {
          template: { labels: {}, annotations: { "meshmigration.io/restarted-for": stamp } },
        }),
      ],
      pods: [pod("a-2", "a", "istio")],
    });
    expect(done.phase).toBe("RolledBack");
  });

  it("has nothing to undo in a namespace it never touched", () => {
    const plan = planNamespaceRollback({
      migration: "move",
      source: ISTIO,
      target: LINKERD,
      maxConcurrentRollouts: 5,
      rolloutTimeoutMs: 600_000,
      ns: namespace("shop", { "istio-injection": "enabled" }),
      workloads: [],
      pods: [],
      sourceControlPlane: READY_CONTROL_PLANE,
      now: 0,
      mayStart: true,
    });
    expect(plan).toMatchObject({ phase: "RolledBack", actions: [] });
  });
});

describe("finalizer bookkeeping", () => {
  it("adds and removes only its own finalizer", () => {
    expect(finalizersWith(["other"], true)).toEqual(["other", "meshmigration.io/finalizer"]);
    expect(finalizersWith(["other", "meshmigration.io/finalizer"], true)).toBeUndefined();
    expect(finalizersWith(["other", "meshmigration.io/finalizer"], false)).toEqual(["other"]);
  });
});
