// The workload level of the tree, read from the workloads and their pods as the operator reads
// them: restart stamps of this migration and direction, rollouts, and pod membership.
import type * as k8s from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { migrationView } from "../../../../src/cli/plugin/migration-view.ts";
import { workloadRows } from "../../../../src/cli/plugin/workloads.ts";
import { NAME, progressingMigration, shopOrdersFailed, shopOrdersRestarting } from "./fixtures.ts";

const forward = { migration: NAME, spec: migrationView(progressingMigration()).spec, namespaceFailed: false };

describe("workload rows", () => {
  it("reads each workload's phase and pods: verified, rolling, not restarted yet; Job pods are no workload's", () => {
    const rows = workloadRows(shopOrdersRestarting(), forward);
    expect(rows.map((row) => [row.ref, row.phase, row.pods])).toEqual([
      ["deployment/api", "Restarting", { target: 1, source: 2, unmeshed: 0, doubleMeshed: 0 }],
      ["deployment/web", "Migrated", { target: 2, source: 0, unmeshed: 0, doubleMeshed: 0 }],
      ["statefulset/cache", "Waiting", { target: 0, source: 1, unmeshed: 0, doubleMeshed: 0 }],
    ]);
  });

  it("calls a rolled-out workload off its mesh Verifying, and Failed once its namespace failed", () => {
    const verifying = workloadRows(shopOrdersFailed(), forward).find((row) => row.ref === "deployment/api");
    expect(verifying).toMatchObject({ phase: "Verifying", retry: 3, pods: { unmeshed: 3 } });
    const failed = workloadRows(shopOrdersFailed(), { ...forward, namespaceFailed: true });
    expect(failed.find((row) => row.ref === "deployment/api")?.phase).toBe("Failed");
  });

  it("does not count another migration's or the other direction's restart as this step's", () => {
    const rollingBack = { ...forward, spec: { ...forward.spec, rollback: true } };
    const rows = workloadRows(shopOrdersRestarting(), rollingBack);
    // Going back to Istio: web's pods are on Linkerd and its stamp is the forward one.
    expect(rows.find((row) => row.ref === "deployment/web")?.phase).toBe("Waiting");
    // cache never left Istio: it is where a rollback wants it.
    expect(rows.find((row) => row.ref === "statefulset/cache")?.phase).toBe("RolledBack");
    const other = workloadRows(shopOrdersRestarting(), { ...forward, migration: "another" });
    expect(other.find((row) => row.ref === "deployment/api")?.phase).toBe("Waiting");
  });

  it("shows a pod with two meshes' proxies on its workload", () => {
    const objects = shopOrdersRestarting();
    const twice = {
      ...(objects.pods[0] as k8s.V1Pod),
      spec: { containers: [{ name: "app" }, { name: "istio-proxy" }, { name: "linkerd-proxy" }] },
    } as k8s.V1Pod;
    const rows = workloadRows({ ...objects, pods: [twice, ...objects.pods.slice(1)] }, forward);
    expect(rows.find((row) => row.ref === "deployment/web")).toMatchObject({
      phase: "DoubleMeshed",
      pods: { doubleMeshed: 1 },
    });
  });
});
