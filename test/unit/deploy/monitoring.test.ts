// deploy/monitoring/: the PrometheusRule's alerts and the Grafana dashboard's queries, run by the
// real promtool (built from the Prometheus Go module by scripts/tools/build-promtool.sh) against
// what the operator really exports: its metrics registry (src/runtime/metrics.ts), fed a few
// samples the way the operator feeds it, scraped from a leader and a follower. A renamed metric,
// a label value the operator does not write, or an expression that does not parse breaks this.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml, stringify } from "yaml";
import { goToolForTests } from "../../../scripts/tools/go-tools.ts";
import { DEFAULT_LEADER_ELECTION_ID } from "../../../src/api/constants.ts";
import { PHASES } from "../../../src/api/schema.ts";
import { createMetrics } from "../../../src/runtime/metrics.ts";

const REPO_ROOT = resolve(import.meta.dirname, "../../..");
const MONITORING = resolve(REPO_ROOT, "deploy/monitoring");
const promtool = goToolForTests("promtool");

// ---------------------------------------------------------------------------------------------
// The rules and the dashboard

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleGroup {
  name: string;
  rules: AlertRule[];
}

const ruleGroups = (
  parseYaml(readFileSync(join(MONITORING, "prometheus-rule.yaml"), "utf8")) as {
    spec: { groups: RuleGroup[] };
  }
).spec.groups;
const alerts = ruleGroups.flatMap((g) => g.rules);
const alertNamed = (name: string) => {
  const found = alerts.find((a) => a.alert === name);
  if (!found) throw new Error(`deploy/monitoring/prometheus-rule.yaml has no alert ${name}`);
  return found;
};

interface Panel {
  title?: string;
  targets?: Array<{ expr?: string; refId?: string }>;
  panels?: Panel[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query?: string | { query: string } }> };
}

const dashboard = JSON.parse(readFileSync(join(MONITORING, "grafana-dashboard.json"), "utf8")) as Dashboard;

/** Grafana's variables as a query sees them at run time: every migration, a 5-minute rate window. */
function withGrafanaVariables(expr: string): string {
  const substituted = expr.replaceAll("$__rate_interval", "5m").replaceAll("$migration", ".*");
  if (substituted.includes("$")) {
    throw new Error(`a dashboard query uses a Grafana variable this test does not know: ${expr}`);
  }
  return substituted;
}

/** Every PromQL query of the dashboard (panels, rows' panels, variables), named for messages. */
function dashboardQueries(): Array<{ name: string; expr: string }> {
  const fromPanels = (panels: Panel[]): Array<{ name: string; expr: string }> =>
    panels.flatMap((panel) => [
      ...(panel.targets ?? [])
        .filter((t) => t.expr)
        .map((t) => ({
          name: `panel "${panel.title}" ${t.refId}`,
          expr: withGrafanaVariables(t.expr ?? ""),
        })),
      ...fromPanels(panel.panels ?? []),
    ]);
  const fromVariables = dashboard.templating.list
    .filter((v) => v.type === "query")
    .map((v) => {
      const query = typeof v.query === "string" ? v.query : (v.query?.query ?? "");
      // label_values(metric, label) lists a label of a metric's series: the metric must have some.
      const metric = /^label_values\(\s*([^,]+),\s*\w+\s*\)$/.exec(query)?.[1];
      if (!metric) throw new Error(`dashboard variable ${v.name}: not a label_values() query: ${query}`);
      return { name: `variable $${v.name}`, expr: metric };
    });
  return [...fromPanels(dashboard.panels), ...fromVariables];
}

const PROMQL_WORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "offset",
  "bool",
]);
const PROMQL_OPERATORS = new Set(["and", "or", "unless"]);

/** The metric names a PromQL expression selects (not its functions, labels, keywords or durations). */
function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ");
  const names: string[] = [];
  for (const match of bare.matchAll(/(?<![\w:.])[a-zA-Z_:][\w:]*/g)) {
    const after = bare.slice((match.index ?? 0) + match[0].length).trimStart();
    if (after.startsWith("(") || PROMQL_WORDS.has(match[0]) || PROMQL_OPERATORS.has(match[0])) continue;
    names.push(match[0]);
  }
  return [...new Set(names)];
}

// ---------------------------------------------------------------------------------------------
// The operator's /metrics

/** The controller's name in src/operator.ts: the `controller` and work queue `name` label values. */
function operatorControllerName(): string {
  const source = readFileSync(resolve(REPO_ROOT, "src/operator.ts"), "utf8");
  const name = /const CONTROLLER_NAME = "([^"]+)"/.exec(source)?.[1];
  if (!name) throw new Error("src/operator.ts no longer declares CONTROLLER_NAME: update this test");
  return name;
}
const CONTROLLER = operatorControllerName();

/** Migrations in every state an alert must tell apart. */
const MIGRATIONS: Array<{
  name: string;
  phase: string;
  namespaces: Record<string, number>;
  doubleMeshed: number;
  /** The Degraded condition's reason while it is True. */
  degraded?: string;
}> = [
  { name: "m-stuck", phase: "Progressing", namespaces: { Restarting: 1, Pending: 2 }, doubleMeshed: 0 },
  { name: "m-moving", phase: "Progressing", namespaces: { Migrated: 1, Pending: 2 }, doubleMeshed: 0 },
  // Double-meshed pods halt a migration (phase Failed).
  {
    name: "m-double",
    phase: "Failed",
    namespaces: { Verifying: 1, Migrated: 1 },
    doubleMeshed: 2,
    degraded: "DoubleMeshDetected",
  },
  {
    name: "m-blocked",
    phase: "Progressing",
    namespaces: { Blocked: 1, Pending: 1 },
    doubleMeshed: 0,
    degraded: "NamespaceOwnedByAnotherMigration",
  },
  {
    name: "m-failed",
    phase: "Failed",
    namespaces: { Failed: 1, Migrated: 1 },
    doubleMeshed: 0,
    degraded: "RolloutTimeout",
  },
  { name: "m-paused", phase: "Paused", namespaces: { Pending: 3 }, doubleMeshed: 0 },
  { name: "m-holding", phase: "Holding", namespaces: { Migrated: 1, Pending: 2 }, doubleMeshed: 0 },
  { name: "m-done", phase: "Succeeded", namespaces: { Migrated: 3 }, doubleMeshed: 0 },
];

/**
 * One replica's /metrics, fed as the operator feeds its registry: the leader reconciles and
 * reports every migration; a follower only reports that it does not lead (and queues keys).
 */
async function replicaMetrics(role: "leader" | "follower"): Promise<string> {
  const metrics = createMetrics({ knownPhases: PHASES });
  const queue = metrics.workQueueObserver();
  queue.onAdd(CONTROLLER);
  queue.onDepth(CONTROLLER, role === "leader" ? 2 : 5);
  metrics.leaderStatusObserver().onLeaderStatus(DEFAULT_LEADER_ELECTION_ID, role === "leader");
  if (role === "follower") return metrics.registry.metrics();
  const reconcile = metrics.reconcileObserver();
  reconcile.onReconcile(CONTROLLER, "success", 0.2);
  reconcile.onReconcile(CONTROLLER, "requeue_after", 0.04);
  reconcile.onReconcile(CONTROLLER, "error", 1.5);
  queue.onRetry(CONTROLLER);
  queue.onQueueLatency(CONTROLLER, 0.01);
  queue.onWorkDuration(CONTROLLER, 0.3);
  for (const m of MIGRATIONS) {
    metrics.setMigrationPhase(m.name, m.phase);
    metrics.setMigrationNamespaces(m.name, m.namespaces);
    metrics.setDoubleMeshedPods(m.name, m.doubleMeshed);
    metrics.setMigrationConditions(m.name, [
      { type: "Ready", status: m.degraded ? "False" : "True", reason: m.degraded ?? "Succeeded" },
      { type: "Degraded", status: m.degraded ? "True" : "False", reason: m.degraded ?? "NoProblems" },
    ]);
  }
  return metrics.registry.metrics();
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** counter (histogram parts included) or gauge. */
  counter: boolean;
}

/** Parses the text exposition format as prom-client writes it. */
function parseExposition(text: string): Sample[] {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1] ?? "", type[2] ?? "");
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const name = match[1] ?? "";
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[label[1] ?? ""] = label[2] ?? "";
    }
    const family = types.get(name) ?? types.get(name.replace(/_(bucket|sum|count)$/, "")) ?? "gauge";
    samples.push({ name, labels, value: Number(match[3]), counter: family !== "gauge" });
  }
  return samples;
}

// ---------------------------------------------------------------------------------------------
// promtool's input: the replicas scraped every minute for 90 minutes

const STEPS = 90;
const SCRAPE_LABELS = { job: "mesh-migration-operator-metrics", namespace: "mesh-migration-system" };

/** A number in promtool's series notation (no exponent, which would read as a minus). */
const number = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(6));

function seriesName(sample: Sample, pod: string): string {
  const labels = { ...sample.labels, ...SCRAPE_LABELS, pod, instance: `${pod}:8080` };
  const inner = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(",");
  return `${sample.name}{${inner}}`;
}

/**
 * The replica's samples as input series: gauges hold their value, counters grow by it every
 * minute. m-moving migrates one more namespace every minute (its only moving series).
 */
function inputSeries(exposition: string, pod: string): Array<{ series: string; values: string }> {
  return parseExposition(exposition)
    .filter((s) => Number.isFinite(s.value))
    .map((s) => {
      let values = s.counter
        ? `${number(s.value)}+${number(s.value)}x${STEPS}`
        : `${number(s.value)}x${STEPS}`;
      if (s.name === "meshmigration_namespaces" && s.labels.migration === "m-moving") {
        values = s.labels.phase === "Migrated" ? `0+1x${STEPS}` : `${STEPS}-1x${STEPS}`;
      }
      return { series: seriesName(s, pod), values };
    });
}

/** An alert's annotations as Prometheus expands them for these labels and value. */
function expandedAnnotations(rule: AlertRule, labels: Record<string, string>, value?: number) {
  const expanded: Record<string, string> = {};
  for (const [name, template] of Object.entries(rule.annotations ?? {})) {
    const text = template
      .replace(/\{\{\s*\$labels\.(\w+)\s*\}\}/g, (_, label: string) => labels[label] ?? "<no value>")
      .replace(/\{\{\s*\$value\s*\}\}/g, () => String(value));
    if (text.includes("{{"))
      throw new Error(`${rule.alert}.${name}: a template this test cannot expand: ${template}`);
    expanded[name] = text;
  }
  return expanded;
}

/** What promtool should see firing: the labels the expression yields and the rule's own. */
function firing(alert: string, alertLabels: Array<Record<string, string>>, value?: number) {
  const rule = alertNamed(alert);
  return alertLabels.map((labels) => ({
    exp_labels: { ...labels, ...rule.labels },
    exp_annotations: expandedAnnotations(rule, labels, value),
  }));
}

const leaderPod = "mesh-migration-operator-5f7c9-a";
const followerPod = "mesh-migration-operator-5f7c9-b";
const byMigration = (...names: string[]) => names.map((migration) => ({ migration }));

async function alertTests() {
  const leader = inputSeries(await replicaMetrics("leader"), leaderPod);
  const follower = inputSeries(await replicaMetrics("follower"), followerPod);
  const bothFollowing = [...follower, ...inputSeries(await replicaMetrics("follower"), leaderPod)];
  const lease = { namespace: SCRAPE_LABELS.namespace, name: DEFAULT_LEADER_ELECTION_ID };
  return [
    {
      name: "a leader and a follower, migrations in every state",
      interval: "1m",
      input_series: [...leader, ...follower],
      alert_rule_test: [
        // Just created (no history of 30 minutes yet): not "not progressing".
        { eval_time: "20m", alertname: "MeshMigrationNotProgressing", exp_alerts: [] },
        {
          eval_time: "70m",
          alertname: "MeshMigrationDoubleMeshedPods",
          exp_alerts: firing("MeshMigrationDoubleMeshedPods", byMigration("m-double"), 2),
        },
        {
          eval_time: "70m",
          alertname: "MeshMigrationDegraded",
          exp_alerts: firing("MeshMigrationDegraded", [
            { migration: "m-blocked", reason: "NamespaceOwnedByAnotherMigration" },
            { migration: "m-double", reason: "DoubleMeshDetected" },
            { migration: "m-failed", reason: "RolloutTimeout" },
          ]),
        },
        {
          // Not m-moving (a namespace a minute), m-paused, m-holding, the halted or m-done.
          eval_time: "70m",
          alertname: "MeshMigrationNotProgressing",
          exp_alerts: firing("MeshMigrationNotProgressing", byMigration("m-stuck", "m-blocked")),
        },
        { eval_time: "70m", alertname: "MeshMigrationOperatorNoLeader", exp_alerts: [] },
        { eval_time: "70m", alertname: "MeshMigrationOperatorAbsent", exp_alerts: [] },
      ],
    },
    {
      name: "two replicas, neither leads",
      interval: "1m",
      input_series: bothFollowing,
      alert_rule_test: [
        { eval_time: "3m", alertname: "MeshMigrationOperatorNoLeader", exp_alerts: [] },
        {
          eval_time: "10m",
          alertname: "MeshMigrationOperatorNoLeader",
          exp_alerts: firing("MeshMigrationOperatorNoLeader", [lease]),
        },
        { eval_time: "10m", alertname: "MeshMigrationOperatorAbsent", exp_alerts: [] },
      ],
    },
    {
      name: "no replica scraped",
      interval: "1m",
      input_series: [{ series: 'up{job="something-else"}', values: `1x${STEPS}` }],
      alert_rule_test: [
        {
          eval_time: "15m",
          alertname: "MeshMigrationOperatorAbsent",
          exp_alerts: firing("MeshMigrationOperatorAbsent", [{ name: DEFAULT_LEADER_ELECTION_ID }]),
        },
        { eval_time: "15m", alertname: "MeshMigrationOperatorNoLeader", exp_alerts: [] },
      ],
    },
  ];
}

async function dashboardTests() {
  const leader = inputSeries(await replicaMetrics("leader"), leaderPod);
  const follower = inputSeries(await replicaMetrics("follower"), followerPod);
  return [
    {
      name: "every dashboard query has an answer",
      interval: "1m",
      input_series: [...leader, ...follower],
      // One sample or more (NaN included: a rate of nothing is an answer), whatever the values.
      promql_expr_test: dashboardQueries().map((q) => ({
        expr: `clamp_max(count(${q.expr}), 1)`,
        eval_time: "70m",
        exp_samples: [{ labels: "{}", value: 1 }],
      })),
    },
  ];
}

// ---------------------------------------------------------------------------------------------

describe("deploy/monitoring", () => {
  it("gives every alert a severity, a summary and a description that says what to do", () => {
    expect(alerts.map((a) => a.alert).sort()).toEqual([
      "MeshMigrationDegraded",
      "MeshMigrationDoubleMeshedPods",
      "MeshMigrationNotProgressing",
      "MeshMigrationOperatorAbsent",
      "MeshMigrationOperatorNoLeader",
    ]);
    for (const alert of alerts) {
      expect(["critical", "warning"], alert.alert).toContain(alert.labels?.severity);
      expect(alert.annotations?.summary, alert.alert).toBeTruthy();
      // A command to run or a field to set: something a person can do at 3 a.m.
      expect(alert.annotations?.description, alert.alert).toMatch(/`kubectl [^`]+`/);
    }
  });

  it("has a dashboard panel for each thing the issue asks to see", () => {
    const queries = dashboardQueries().map((q) => q.expr);
    for (const metric of [
      "meshmigration_phase",
      "meshmigration_namespaces",
      "meshmigration_double_meshed_pods",
      "controller_runtime_reconcile_total",
      "controller_runtime_reconcile_errors_total",
      "controller_runtime_reconcile_time_seconds_bucket",
      "workqueue_depth",
      "leader_election_master_status",
    ]) {
      expect(
        queries.some((q) => metricNamesIn(q).includes(metric)),
        metric,
      ).toBe(true);
    }
  });

  it("uses only metrics the operator exports", async () => {
    const exported = new Set(
      [
        ...parseExposition(await replicaMetrics("leader")),
        ...parseExposition(await replicaMetrics("follower")),
      ].map((s) => s.name),
    );
    const uses = [
      ...alerts.map((a) => ({ name: `alert ${a.alert}`, expr: a.expr })),
      ...dashboardQueries().map((q) => ({ name: `dashboard ${q.name}`, expr: q.expr })),
    ];
    for (const use of uses) {
      const names = metricNamesIn(use.expr);
      expect(names.length, `${use.name} selects no metric: ${use.expr}`).toBeGreaterThan(0);
      for (const metric of names) {
        expect(
          exported.has(metric),
          `${use.name} uses ${metric}, which the operator does not export (src/runtime/metrics.ts)`,
        ).toBe(true);
      }
    }
  });

  describe.skipIf(promtool === undefined)("with promtool", () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), "mmo-monitoring-"));
      writeFileSync(join(dir, "alerts.yaml"), stringify({ groups: ruleGroups }, { lineWidth: 0 }));
      const recorded = dashboardQueries().map((q, i) => ({ record: `dashboard:query_${i}`, expr: q.expr }));
      writeFileSync(
        join(dir, "dashboard.yaml"),
        stringify({ groups: [{ name: "dashboard", rules: recorded }] }, { lineWidth: 0 }),
      );
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const run = (args: string[]) => {
      const result = spawnSync(promtool as string, args, { cwd: dir, encoding: "utf8" });
      return { ok: result.status === 0, output: `${result.stdout}${result.stderr}` };
    };

    it("is promtool 3's", () => {
      expect(execFileSync(promtool as string, ["--version"], { encoding: "utf8" })).toMatch(
        /promtool, version 3\./,
      );
    });

    it("passes promtool check rules: the PrometheusRule's groups and every dashboard query", () => {
      for (const file of ["alerts.yaml", "dashboard.yaml"]) {
        const checked = run(["check", "rules", file]);
        expect(checked.ok, checked.output).toBe(true);
      }
    });

    it("pages for the migrations and replicas that need a person, and no other (promtool test rules)", async () => {
      writeFileSync(
        join(dir, "alerts.test.yaml"),
        stringify(
          { rule_files: ["alerts.yaml"], evaluation_interval: "1m", tests: await alertTests() },
          { lineWidth: 0 },
        ),
      );
      const tested = run(["test", "rules", "alerts.test.yaml"]);
      expect(tested.ok, tested.output).toBe(true);
    });

    it("answers every dashboard query from the operator's metrics (promtool test rules)", async () => {
      writeFileSync(
        join(dir, "dashboard.test.yaml"),
        stringify(
          { rule_files: [], evaluation_interval: "1m", tests: await dashboardTests() },
          { lineWidth: 0 },
        ),
      );
      const tested = run(["test", "rules", "dashboard.test.yaml"]);
      expect(tested.ok, tested.output).toBe(true);
    });
  });
});
