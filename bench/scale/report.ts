// The scale benchmark's figures: printed as a table, and with --write kept in bench/results/
// (with the commit and machine they ran on) and put into the README between its markers.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { countOf, type RequestCounts } from "./apiserver-requests.ts";
import type { FleetShape } from "./fleet.ts";
import { type PauseResult, percentile } from "./pauses.ts";

interface Measured {
  seconds: number;
  requests: RequestCounts;
}

export interface ScaleResult {
  shape: FleetShape;
  pods: number;
  script: { forward: Measured; rollback: Measured; four: Measured };
  operator: { forward: Measured; rollback: Measured; four: Measured };
  forwardPeakRss: number;
  /** The environment the operator ran with, from deploy/deployment.yaml (NODE_OPTIONS...). */
  deployedEnv: Record<string, string>;
  /** The image's node flags (the Dockerfile's ENTRYPOINT). */
  nodeFlags: string[];
  heap: { before: number; after: number; addedPods: number };
  /** Highest resident set while the added pods arrived and were cached, in bytes. */
  fillerPeakRss: number;
  listsAfterStartup: number;
  /** The operator's own requests after start-up, from the audit log. */
  operatorOwn: RequestCounts;
  pauses: PauseResult;
  perNamespace: number[];
}

/** Status writes a namespace needs: one per phase it passes (forward 4, rollback 2), and the migration's own. */
const STATUS_PHASES = { forward: 4, rollback: 2, migration: 2 };
const MARKERS = ["<!-- bench:scale -->", "<!-- /bench:scale -->"] as const;

const envText = (env: Record<string, string> = {}) =>
  Object.entries(env)
    .map(([name, value]) => `${name}=${value}`)
    .join(" ") || "environment (none set)";
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}×` : "–");
const both = (m: { forward: Measured; rollback: Measured }, key: string) =>
  countOf(m.forward.requests, key) + countOf(m.rollback.requests, key);
const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

function minimum(shape: FleetShape) {
  const n = shape.namespaces;
  return {
    namespaces: 2 * n + n, // record + relabel forward, restore on rollback
    deployments: 2 * n * shape.deployments,
    status: n * (STATUS_PHASES.forward + STATUS_PHASES.rollback) + 2 * STATUS_PHASES.migration,
  };
}

function table(r: ScaleResult): string {
  const min = minimum(r.shape);
  const row = (what: string, script: string, operator: string, note: string) =>
    `| ${what} | ${script} | ${operator} | ${note} |`;
  const patches = (key: string, least: number) =>
    row(
      key,
      String(both(r.script, key)),
      String(both(r.operator, key)),
      `minimum ${least}, operator ${ratio(both(r.operator, key), least)}`,
    );
  const first = r.perNamespace.slice(0, Math.max(1, Math.min(50, Math.floor(r.perNamespace.length / 3))));
  const last = r.perNamespace.slice(-first.length);
  const growth = ((r.heap.after - r.heap.before) / 2 ** 20 / r.heap.addedPods) * 1000;
  const own = [...r.operatorOwn].sort(([, a], [, b]) => b - a);
  const ownTotal = own.reduce((n, [, c]) => n + c, 0);
  const latencies = r.pauses.latenciesMs;
  return [
    `${r.shape.namespaces} namespaces × ${r.shape.deployments} Deployments × ${r.shape.replicas} replicas per side (${r.pods} pods), Istio sidecars → Linkerd → back, one namespace at a time`,
    "",
    "| | kubectl script | operator | |",
    "|---|---|---|---|",
    row(
      "wall time, forward",
      `${r.script.forward.seconds.toFixed(1)} s`,
      `${r.operator.forward.seconds.toFixed(1)} s`,
      `operator / script ${ratio(r.operator.forward.seconds, r.script.forward.seconds)}`,
    ),
    row(
      "wall time, rollback",
      `${r.script.rollback.seconds.toFixed(1)} s`,
      `${r.operator.rollback.seconds.toFixed(1)} s`,
      `operator / script ${ratio(r.operator.rollback.seconds, r.script.rollback.seconds)}`,
    ),
    patches("PATCH namespaces", min.namespaces),
    patches("PATCH deployments", min.deployments),
    patches("PATCH meshmigrations/status", min.status),
    row("PATCH meshmigrations (finalizer)", "–", String(both(r.operator, "PATCH meshmigrations")), ""),
    "",
    `- operator peak RSS during the forward migration: ${mb(r.forwardPeakRss)} (\`node ${[...(r.nodeFlags ?? []), "dist/main.js"].join(" ")}\` as the image runs it, with deploy/deployment.yaml's ${envText(r.deployedEnv)})`,
    `- operator peak RSS while ${r.heap.addedPods} more pods were created and cached: ${mb(r.fillerPeakRss)}`,
    `- operator heap after a full GC: ${mb(r.heap.before)} at rest, ${mb(r.heap.after)} with ${r.heap.addedPods} more pods: ${growth.toFixed(1)} MB per 1,000 cached pods`,
    `- the operator's own requests after start-up (audit log), all phases: ${ownTotal} (${own.map(([k, n]) => `${k} ${n}`).join(", ")})`,
    `- LIST requests by the operator after start-up: ${r.listsAfterStartup}`,
    `- pause latency (spec.paused to the operator's last namespace or workload write), ${latencies.length} pauses: p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms`,
    `- 4 namespaces at once over 1: operator ${ratio(r.operator.forward.seconds, r.operator.four.seconds)} faster (maxConcurrentNamespaces 4: ${r.operator.four.seconds.toFixed(1)} s vs ${r.operator.forward.seconds.toFixed(1)} s); the kubectl script ${ratio(r.script.forward.seconds, r.script.four.seconds)} (${r.script.four.seconds.toFixed(1)} s vs ${r.script.forward.seconds.toFixed(1)} s)`,
    `- time per namespace, first ${first.length} vs last ${last.length}: ${(mean(first) / 1000).toFixed(2)} s vs ${(mean(last) / 1000).toFixed(2)} s (${ratio(mean(last), mean(first))})`,
  ].join("\n");
}

function provenance(repoRoot: string): string {
  const git = (args: string[]) => execFileSync("git", args, { cwd: repoRoot, encoding: "utf8" }).trim();
  const dirty =
    git(["status", "--porcelain", "--", "src"]) === "" ? "" : " (with uncommitted changes in src/)";
  const cpu = cpus();
  return `commit ${git(["rev-parse", "--short", "HEAD"])}${dirty}, ${new Date().toISOString().slice(0, 10)}, ${cpu.length} × ${cpu[0]?.model ?? "cpu"}, ${mb(totalmem())} RAM`;
}

export function writeResults(
  result: ScaleResult,
  options: { write: boolean; quick: boolean; repoRoot: string },
): void {
  const text = `${table(result)}\n\nMeasured by \`npm run bench:scale\` on ${provenance(options.repoRoot)}.`;
  console.log(text);
  console.log("\napiserver requests by verb and resource:");
  for (const [side, m] of Object.entries({
    ...result.script,
    ...{ operatorForward: result.operator.forward, operatorRollback: result.operator.rollback },
  })) {
    const interesting = [...m.requests].filter(([k]) =>
      /namespaces|deployments|meshmigrations|events|leases/.test(k),
    );
    console.log(`  ${side}: ${interesting.map(([k, n]) => `${k} ${n}`).join(", ")}`);
  }
  if (!options.write) return;
  const name = `scale-${result.shape.namespaces}ns-${result.pods}pods`;
  const serialisable = JSON.parse(
    JSON.stringify(result, (_k, v) => (v instanceof Map ? Object.fromEntries(v) : v)),
  );
  writeFileSync(
    join(options.repoRoot, "bench/results", `${name}.json`),
    `${JSON.stringify(serialisable, null, 2)}\n`,
  );
  writeFileSync(join(options.repoRoot, "bench/results", `${name}.md`), `${text}\n`);
  const readmePath = join(options.repoRoot, "README.md");
  const readme = readFileSync(readmePath, "utf8");
  const [open, close] = MARKERS;
  const start = readme.indexOf(open);
  const end = readme.indexOf(close);
  if (start < 0 || end < start)
    throw new Error(`README.md has no ${open} … ${close} section for the figures`);
  writeFileSync(readmePath, `${readme.slice(0, start + open.length)}\n${text}\n${readme.slice(end)}`);
}
