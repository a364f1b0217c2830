// `npm run demo`: its example matches the applications it deploys, and what it prints reads
// right (the live table, the change log for pipes, the commands at the end).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { DEMO_NAMESPACES, namespaceLabels } from "../../../scripts/demo/apps.ts";
import { demoCommands } from "../../../scripts/demo/commands.ts";
import {
  describeChanges,
  type MigrationSnapshot,
  outcomeOf,
  renderTable,
  wrap,
} from "../../../scripts/demo/progress.ts";
import {
  DEMO_LABEL_KEY,
  DEMO_LABEL_VALUE,
  DEMO_OPERATOR_SELECTOR,
  E2E_RUN_LABEL,
  GATE_BATCH,
  MIGRATION_FILE,
  MIGRATION_NAME,
} from "../../../scripts/demo/settings.ts";
import { matchesSelector } from "../../../src/api/label-selector.ts";
import { parseSpec } from "../../../src/api/schema.ts";
import { RUN_LABEL } from "../../support/operator.ts";

const manifest = parse(readFileSync(MIGRATION_FILE, "utf8")) as {
  metadata: { name: string; labels?: Record<string, string> };
  spec: unknown;
};

function demoSpec() {
  const parsed = parseSpec(manifest.spec);
  if (!parsed.ok) throw new Error(parsed.errors.join("\n"));
  return parsed.spec;
}

/** The namespaces a batch resolves to among these labelled namespaces. */
function resolveBatch(
  batch: ReturnType<typeof demoSpec>["batches"][number],
  namespaces: Array<{ name: string; labels: Record<string, string> }>,
): string[] {
  return namespaces
    .filter(
      (ns) =>
        (batch.namespaces ?? []).includes(ns.name) ||
        (batch.namespaceSelector !== undefined && matchesSelector(ns.labels, batch.namespaceSelector)),
    )
    .map((ns) => ns.name)
    .sort();
}

describe("the demo's MeshMigration", () => {
  const demoNamespaces = DEMO_NAMESPACES.map((ns) => ({ name: ns.name, labels: namespaceLabels(ns) }));

  it("moves Istio to Linkerd and carries the demo's label (so --clean finds it)", () => {
    expect(manifest.metadata.name).toBe(MIGRATION_NAME);
    expect(manifest.metadata.labels?.[DEMO_LABEL_KEY]).toBe(DEMO_LABEL_VALUE);
    const spec = demoSpec();
    expect(spec.source).toEqual({ mesh: "istio" });
    expect(spec.target).toEqual({ mesh: "linkerd" });
    expect(spec.stopAfterBatch).toBe(GATE_BATCH);
  });

  it("is handled, like any MeshMigration a user applies, by the demo's operator; the suites' are not", () => {
    // "!key": every object without the key (Kubernetes label-selector syntax).
    expect(DEMO_OPERATOR_SELECTOR).toBe(`!${RUN_LABEL}`);
    expect(E2E_RUN_LABEL).toBe(RUN_LABEL);
    expect(manifest.metadata.labels?.[RUN_LABEL]).toBeUndefined();
  });

  it("migrates the frontend as the canary, then the payments team's namespaces", () => {
    const [canary, wave] = demoSpec().batches;
    expect(canary?.name).toBe(GATE_BATCH);
    expect(canary && resolveBatch(canary, demoNamespaces)).toEqual(["demo-frontend"]);
    expect(wave && resolveBatch(wave, demoNamespaces)).toEqual(["demo-orders", "demo-payments"]);
  });

  it("never selects a team=payments namespace that the demo did not create", () => {
    const [, wave] = demoSpec().batches;
    const someoneElses = {
      name: "shop-payments",
      labels: { team: "payments", "istio-injection": "enabled" },
    };
    expect(wave && resolveBatch(wave, [someoneElses])).toEqual([]);
  });

  it("deploys apps meshed by Istio from the start, one of them with a StatefulSet", () => {
    for (const ns of demoNamespaces) expect(ns.labels["istio-injection"]).toBe("enabled");
    expect(DEMO_NAMESPACES.flatMap((ns) => ns.workloads.map((w) => w.kind))).toContain("StatefulSet");
  });
});

const namespaceStatus = (name: string, batch: string, phase: string, target: number, source: number) => ({
  name,
  batch,
  phase: phase as "Pending",
  workloads: { total: 1, restarted: 0, ready: 0 },
  pods: { target, source, unmeshed: 0, doubleMeshed: 0 },
  message: "waiting to start",
});

function snapshot(overrides: Partial<NonNullable<MigrationSnapshot["status"]>> = {}): MigrationSnapshot {
  return {
    name: MIGRATION_NAME,
    generation: 2,
    source: "istio",
    target: "linkerd",
    status: {
      phase: "Progressing",
      observedGeneration: 2,
      currentBatch: "canary",
      progress: "0/2",
      doubleMeshedPods: 0,
      conditions: [],
      namespaces: [
        namespaceStatus("demo-frontend", "canary", "Restarting", 1, 1),
        namespaceStatus("demo-orders", "wave-1", "Pending", 0, 2),
      ],
      ...overrides,
    },
  };
}

describe("the live table", () => {
  it("shows the phase, batch, progress and per namespace its phase and pods on target and source", () => {
    const lines = renderTable(snapshot(), 65_000, 200);
    expect(lines[0]).toContain("istio → linkerd");
    expect(lines[0]).toContain("Progressing");
    expect(lines[0]).toContain("batch canary");
    expect(lines[0]).toContain("0/2 namespaces migrated");
    expect(lines[0]).toContain("(1:05)");
    expect(lines[1]).toMatch(/NAMESPACE\s+BATCH\s+PHASE\s+WORKLOADS\s+ON LINKERD\s+ON ISTIO\s+MESSAGE/);
    expect(lines[2]).toMatch(/demo-frontend\s+canary\s+Restarting\s+0\/1 ready\s+1\s+1\s+waiting to start/);
  });

  it("fits the terminal width, wrapping the notice rather than cutting it", () => {
    const degraded = {
      type: "Degraded",
      status: "True" as const,
      reason: "TargetControlPlaneNotReady",
      message: "linkerd-proxy-injector is not ready ".repeat(6).trim(),
      lastTransitionTime: "2026-01-01T00:00:00Z",
    };
    const lines = renderTable(snapshot({ conditions: [degraded] }), 0, 50);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(50);
    const notice = lines.slice(lines.findIndex((l) => l.includes("Degraded"))).join(" ");
    expect(notice.replace(/\s+/g, " ")).toContain(degraded.message);
  });

  it("wraps at spaces", () => {
    expect(wrap("one two three four", 9)).toEqual(["one two", "three", "four"]);
  });
});

describe("the change log printed when stdout is not a terminal", () => {
  it("prints everything the first time", () => {
    const lines = describeChanges(undefined, snapshot(), 0);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain("Progressing");
  });

  it("prints nothing when nothing changed", () => {
    expect(describeChanges(snapshot(), snapshot(), 5000)).toEqual([]);
  });

  it("prints only the namespace that moved", () => {
    const later = snapshot({
      namespaces: [
        namespaceStatus("demo-frontend", "canary", "Restarting", 2, 0),
        namespaceStatus("demo-orders", "wave-1", "Pending", 0, 2),
      ],
    });
    const lines = describeChanges(snapshot(), later, 2000);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("demo-frontend");
    expect(lines[0]).toContain("pods on linkerd 2, on istio 0");
  });
});

describe("when the watch stops", () => {
  it("stops at Succeeded, the gate (Holding), Paused and Failed", () => {
    for (const phase of ["Succeeded", "Holding", "Paused", "Failed"] as const) {
      expect(outcomeOf(snapshot({ phase }))).toBe(phase);
    }
    expect(outcomeOf(snapshot({ phase: "Progressing" }))).toBeUndefined();
  });

  it("ignores a status computed for an older generation of the spec", () => {
    expect(outcomeOf(snapshot({ phase: "Holding", observedGeneration: 1 }))).toBeUndefined();
  });
});

describe("the commands printed at the end", () => {
  const input = {
    migration: MIGRATION_NAME,
    kubeconfig: "/repo/.cluster/kubeconfig",
    binDir: "/cache/bin",
    pluginDir: "/repo/.cluster/plugin-bin",
    operatorPidFile: "/repo/.cluster/demo-operator.pid",
    operatorLog: "/repo/.cluster/logs/demo-operator.log",
    sampleNamespace: "demo-payments",
  };

  it("set up the shell and cover watching, pausing, the gate, rollback and stopping", () => {
    const text = demoCommands(input);
    for (const expected of [
      "export KUBECONFIG=/repo/.cluster/kubeconfig",
      'export PATH=/repo/.cluster/plugin-bin:/cache/bin:"$PATH"',
      `kubectl meshmigration get ${MIGRATION_NAME} --watch`,
      `kubectl describe mm ${MIGRATION_NAME}`,
      `kubectl wait --for=condition=Ready mm/${MIGRATION_NAME}`,
      `kubectl meshmigration pause ${MIGRATION_NAME}`,
      `kubectl meshmigration resume ${MIGRATION_NAME}`,
      `kubectl meshmigration promote ${MIGRATION_NAME}`,
      `kubectl meshmigration rollback ${MIGRATION_NAME}`,
      `kubectl patch mm ${MIGRATION_NAME} --type=merge -p '{"spec":{"paused":true}}'`,
      "npm run demo -- --stop",
    ]) {
      expect(text).toContain(expected);
    }
  });
});
