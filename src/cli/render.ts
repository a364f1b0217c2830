// Printing a plan: a table for people (an overview, then each namespace in batch order, then
// blockers and warnings with their fixes) or the MigrationOutline as JSON (status.plan's shape).
import { GROUP } from "../api/constants.ts";
import type {
  MeshMigrationSpec,
  MigrationOutline,
  NamespaceOutline,
  PlannedNamespaceChange,
} from "../api/schema.ts";

const WIDTH = 100;

export function renderJson(outline: MigrationOutline): string {
  return `${JSON.stringify(outline, null, 2)}\n`;
}

/** Left-aligned columns, two spaces apart; the last column is never padded. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

/** Wraps text at word boundaries: the first line indented by `indent`, the others by `hanging`. */
function wrap(text: string, indent: string, hanging = indent): string[] {
  const lines: string[] = [];
  let current = "";
  const prefix = () => (lines.length === 0 ? indent : hanging);
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (current && prefix().length + current.length + 1 + word.length > WIDTH) {
      lines.push(prefix() + current);
      current = word;
    } else {
      current = current ? `${current} ${word}` : word;
    }
  }
  if (current) lines.push(prefix() + current);
  return lines;
}

function isBookkeeping(edit: string): boolean {
  return edit.startsWith(`${GROUP}/`);
}

/** The mesh-marker edits of a namespace's patches, for the overview: "1) a- 2) b=c". */
function changeSummary(changes: readonly PlannedNamespaceChange[]): string {
  const steps = changes
    .map((change) => [...change.labels, ...change.annotations].filter((edit) => !isBookkeeping(edit)))
    .filter((edits) => edits.length > 0);
  if (steps.length === 0) return "-";
  if (steps.length === 1) return steps[0]?.join(" ") ?? "-";
  return steps.map((edits, index) => `${index + 1}) ${edits.join(" ")}`).join(" ");
}

function editText(change: { labels: string[]; annotations: string[] }): string {
  const parts = [
    change.labels.length > 0 ? `label ${change.labels.join(" ")}` : undefined,
    change.annotations.length > 0 ? `annotate ${change.annotations.join(" ")}` : undefined,
  ].filter((part) => part !== undefined);
  return parts.join("; ") || "(nothing)";
}

function namespaceDetails(ns: NamespaceOutline, batch: string, maxConcurrentRollouts: number): string[] {
  const lines = [`Namespace ${ns.name} (batch ${batch})${ns.note ? `: ${ns.note}` : ""}`];
  if (!ns.exists) return lines;
  if (ns.changes.length > 0) {
    lines.push("  Namespace changes, in order:");
    ns.changes.forEach((change, index) => {
      lines.push(...wrap(`${index + 1}. ${change.step}: ${editText(change)}`, "    ", "       "));
    });
  } else {
    lines.push("  Namespace changes: none (it already enrolls the target)");
  }
  if (ns.templateRewrites.length > 0) {
    lines.push("  Pod-template rewrites (originals recorded on the workload):");
    for (const rewrite of ns.templateRewrites)
      lines.push(...wrap(`${rewrite.workload}: ${editText(rewrite)}`, "    ", "      "));
  }
  if (ns.restartWaves.length > 0) {
    lines.push(`  Restarts, in order (at most ${maxConcurrentRollouts} at once):`);
    ns.restartWaves.forEach((wave, index) => {
      lines.push(...wrap(`wave ${index + 1}: ${wave.join(", ")}`, "    ", "      "));
    });
  } else {
    lines.push("  Restarts: none");
  }
  if (ns.notRestarted.length > 0) {
    lines.push("  Not restarted:");
    for (const skip of ns.notRestarted)
      lines.push(...wrap(`${skip.workload}: ${skip.reason}`, "    ", "      "));
  }
  if (ns.unmanagedPods.length > 0) {
    lines.push("  Pods the operator cannot restart (recreate them yourself once the namespace has moved):");
    lines.push(...wrap(ns.unmanagedPods.join(", "), "    "));
  }
  return lines;
}

type OutlinedBatch = MigrationOutline["batches"][number];

/** A batch's rows in the table; a batch whose selector matches nothing keeps one (the summary counts it). */
function batchRows(batch: OutlinedBatch): string[][] {
  const label = batch.held ? `${batch.name} (held)` : batch.name;
  if (batch.namespaces.length === 0) return [[label, "(no namespace matches)", "", "", "", ""]];
  return batch.namespaces.map((ns) => [
    label,
    ns.name,
    ns.exists ? ns.meshes.join(",") || "none" : "(missing)",
    String(ns.restartWaves.flat().length),
    String(ns.unmanagedPods.length),
    changeSummary(ns.changes),
  ]);
}

export function renderTable(
  outline: MigrationOutline,
  context: { migration: string | undefined; spec: MeshMigrationSpec },
): string {
  const name = context.migration ? `MeshMigration ${context.migration}` : "MeshMigration";
  const lines: string[] = [
    `Plan for ${name}: ${outline.source} → ${outline.target}`,
    "Read from the cluster; nothing was changed.",
    "",
  ];

  const rows = outline.batches.flatMap(batchRows);
  if (outline.batches.some((batch) => batch.namespaces.length > 0)) {
    lines.push(
      ...table(["BATCH", "NAMESPACE", "MESH NOW", "RESTARTS", "UNMANAGED", "NAMESPACE CHANGES"], rows),
    );
  } else {
    lines.push("No namespace matches the batches.");
  }

  for (const batch of outline.batches) {
    for (const ns of batch.namespaces) {
      lines.push("", ...namespaceDetails(ns, batch.name, context.spec.strategy.maxConcurrentRollouts));
    }
  }

  lines.push("", `Blockers (${outline.blockers.length}):`);
  if (outline.blockers.length === 0) lines.push("  none");
  for (const blocker of outline.blockers) {
    lines.push(`  ${blocker.reason}${blocker.namespace ? ` [${blocker.namespace}]` : ""}`);
    lines.push(...wrap(blocker.message, "    "));
  }

  lines.push("", `Warnings (${outline.warnings.length}):`);
  if (outline.warnings.length === 0) lines.push("  none");
  for (const warning of outline.warnings) {
    const severity = warning.severity === "Blocking" ? "BLOCKING" : "WARNING ";
    lines.push(`  ${severity} ${warning.code}${warning.namespace ? ` [${warning.namespace}]` : ""}`);
    lines.push(...wrap(warning.message, "    "));
  }

  lines.push("", ...wrap(outline.summary, ""));
  lines.push(
    outline.blocked
      ? "Result: BLOCKED (exit code 2). Fix the blockers and the blocking warnings above, then plan again."
      : "Result: OK (exit code 0).",
  );
  return `${lines.join("\n")}\n`;
}
