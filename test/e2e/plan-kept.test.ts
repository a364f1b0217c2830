// The plan's promise on the real cluster: a migration run with dryRun: true, then false. A watch
// (not the operator's logs) sees every namespace patch, template rewrite and restart the operator
// makes; they must be the ones status.plan published, in its order. The plan CLI, run on the same
// cluster, publishes the same plan and the same warnings.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { afterAll, describe, expect, it } from "vitest";
import type { MigrationOutline, MigrationWarning } from "../../src/api/schema.ts";
import { type MapPatch, namespacePatch, plannedWrites, restart } from "../sim/plan-writes.ts";
import { waitForAppsOn, waitForSettled } from "../support/apps.ts";
import { e2eKubeconfigPath } from "../support/kube.ts";
import { applyMigration, kubectlWaitReady, waitForMigration } from "../support/migrations.ts";
import { migrationSuite } from "../support/suite.ts";

const BIN = resolve(import.meta.dirname, "../../bin/mesh-migration-operator.js");
const suite = migrationSuite();
const { clients, migrationName, patchSpec } = suite;

/**
 * What a watch saw change: each namespace's metadata patches and each workload's template changes,
 * in the order the apiserver wrote them (one etcd here: resourceVersions are its revisions).
 */
class ChangeRecorder {
  readonly #seen: Array<{ namespace: string; what: string; revision: number }> = [];

  get seen(): Array<{ namespace: string; what: string }> {
    return [...this.#seen]
      .sort((a, b) => a.revision - b.revision)
      .map(({ namespace, what }) => ({ namespace, what }));
  }

  readonly #last = new Map<string, { labels: Record<string, string>; annotations: Record<string, string> }>();
  readonly #watches: AbortController[] = [];
  readonly #namespaces: ReadonlySet<string>;

  constructor(namespaces: readonly string[]) {
    this.#namespaces = new Set(namespaces);
  }

  async start(): Promise<void> {
    const watch = new k8s.Watch(clients.kc);
    const follow = async (
      path: string,
      list: () => Promise<{ metadata?: k8s.V1ListMeta; items: k8s.KubernetesObject[] }>,
      on: (obj: never) => void,
    ) => {
      const listed = await list();
      for (const item of listed.items) on(item as never);
      this.#watches.push(
        await watch.watch(
          path,
          { resourceVersion: listed.metadata?.resourceVersion },
          (_type, obj) => on(obj as never),
          () => undefined,
        ),
      );
    };
    await follow(
      "/api/v1/namespaces",
      () => clients.core.listNamespace(),
      (ns: k8s.V1Namespace) =>
        this.#observe(
          `ns/${ns.metadata?.name}`,
          ns.metadata?.name ?? "",
          ns.metadata?.resourceVersion,
          ns.metadata,
          (labels, annotations) => namespacePatch(labels, annotations),
        ),
    );
    const workloads: Array<
      [string, string, () => Promise<{ metadata?: k8s.V1ListMeta; items: k8s.KubernetesObject[] }>]
    > = [
      ["deployment", "/apis/apps/v1/deployments", () => clients.apps.listDeploymentForAllNamespaces()],
      ["statefulset", "/apis/apps/v1/statefulsets", () => clients.apps.listStatefulSetForAllNamespaces()],
      ["daemonset", "/apis/apps/v1/daemonsets", () => clients.apps.listDaemonSetForAllNamespaces()],
    ];
    for (const [kind, path, list] of workloads) {
      await follow(path, list, (w: k8s.V1Deployment) =>
        this.#observe(
          `${kind}/${w.metadata?.namespace}/${w.metadata?.name}`,
          w.metadata?.namespace ?? "",
          w.metadata?.resourceVersion,
          w.spec?.template?.metadata,
          (labels, annotations) => restart(`${kind}/${w.metadata?.name}`, labels, annotations),
        ),
      );
    }
  }

  stop(): void {
    for (const watch of this.#watches) watch.abort();
  }

  #observe(
    key: string,
    namespace: string,
    resourceVersion: string | undefined,
    metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } | undefined,
    describe: (labels: MapPatch, annotations: MapPatch) => string,
  ): void {
    if (!this.#namespaces.has(namespace)) return;
    const now = {
      labels: { ...(metadata?.labels ?? {}) },
      annotations: { ...(metadata?.annotations ?? {}) },
    };
    const before = this.#last.get(key);
    this.#last.set(key, now);
    if (!before) return;
    const labels = diff(before.labels, now.labels);
    const annotations = diff(before.annotations, now.annotations);
    if (Object.keys(labels).length + Object.keys(annotations).length > 0) {
      this.#seen.push({ namespace, what: describe(labels, annotations), revision: Number(resourceVersion) });
    }
  }
}

function diff(before: Record<string, string>, after: Record<string, string>): MapPatch {
  const patch: MapPatch = {};
  for (const key of Object.keys(before)) if (!(key in after)) patch[key] = null;
  for (const [key, value] of Object.entries(after)) if (before[key] !== value) patch[key] = value;
  return patch;
}

function runPlanCli(name: string, spec: Record<string, unknown>): Promise<MigrationOutline> {
  const dir = mkdtempSync(join(tmpdir(), "plan-kept-"));
  const file = join(dir, "migration.json");
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: "meshmigration.io/v1alpha1",
      kind: "MeshMigration",
      metadata: { name },
      spec,
    }),
  );
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      [BIN, "plan", "-f", file, "--kubeconfig", e2eKubeconfigPath(), "--output", "json"],
      { maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        if (code === 1) fail(new Error(`plan CLI failed: ${stderr}`));
        else done(JSON.parse(stdout) as MigrationOutline);
      },
    );
  });
}

let recorder: ChangeRecorder | undefined;
afterAll(() => recorder?.stop());

describe("the plan, kept on the real cluster", () => {
  it("makes exactly the namespace patches, rewrites and restarts that status.plan published", async () => {
    const pinned = await suite.appNamespace("kept-pinned", {
      labels: { "istio-injection": "enabled" },
      deploymentTemplate: { labels: { "sidecar.istio.io/inject": "true" } },
    });
    const plain = await suite.appNamespace("kept-plain", { labels: { "istio-injection": "enabled" } });
    for (const ns of [pinned, plain]) {
      await waitForAppsOn(clients, ns, "istio");
      await waitForSettled(clients, ns);
    }
    const name = migrationName("kept");
    const spec = {
      source: { mesh: "istio" },
      target: { mesh: "linkerd" },
      batches: [
        { name: "first", namespaces: [pinned] },
        { name: "second", namespaces: [plain] },
      ],
      strategy: { maxConcurrentRollouts: 2 },
    };
    recorder = new ChangeRecorder([pinned, plain]);
    await recorder.start();

    await applyMigration(name, { ...spec, dryRun: true });
    const planned = await waitForMigration(clients, name, (m) => m.status?.phase === "Planning", "Planning");
    const status = planned.status as { plan: MigrationOutline; warnings?: MigrationWarning[] };
    const cliPlan = await runPlanCli(name, spec);
    expect(cliPlan).toEqual(status.plan);
    expect(cliPlan.warnings).toEqual(status.warnings ?? []);
    expect(recorder.seen).toEqual([]);

    await patchSpec(name, { dryRun: false });
    await kubectlWaitReady(name);
    await waitForAppsOn(clients, plain, "linkerd");

    const expected = status.plan.batches
      .flatMap((b) => b.namespaces)
      .flatMap((ns) => plannedWrites(ns).map((what) => ({ namespace: ns.name, what })));
    expect(expected.length).toBeGreaterThan(6);
    for (const ns of [pinned, plain]) {
      const seenHere = recorder.seen.filter((w) => w.namespace === ns).map((w) => w.what);
      expect(seenHere).toEqual(expected.filter((w) => w.namespace === ns).map((w) => w.what));
    }
    // Batches in order: every write of the first batch was seen before the first of the second.
    const lastOfFirst = recorder.seen.map((w) => w.namespace).lastIndexOf(pinned);
    const firstOfSecond = recorder.seen.findIndex((w) => w.namespace === plain);
    expect(lastOfFirst).toBeLessThan(firstOfSecond);
  });
});
