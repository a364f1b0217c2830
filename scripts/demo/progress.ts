// Turning a MeshMigration's status into what the demo prints: a compact table redrawn in place
// on a terminal, or one line per change when the output goes to a file or a pipe. Pure functions.
import type { MeshMigrationStatus, NamespaceStatus } from "../../src/api/schema.ts";

/** What the demo reads of a MeshMigration (the status is the operator's, unvalidated here). */
export interface MigrationSnapshot {
  name: string;
  generation?: number | undefined;
  source: string;
  target: string;
  status?: Partial<MeshMigrationStatus> | undefined;
}

export function formatElapsed(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

function condition(snapshot: MigrationSnapshot, type: string) {
  return snapshot.status?.conditions?.find((c) => c.type === type);
}

/** The migration-wide part: phase, batch, progress. */
function headline(snapshot: MigrationSnapshot): string {
  const status = snapshot.status;
  if (!status?.phase) return "waiting for the operator to report status";
  const parts: string[] = [status.phase];
  if (status.currentBatch) parts.push(`batch ${status.currentBatch}`);
  if (status.progress) parts.push(`${status.progress} namespaces migrated`);
  if ((status.doubleMeshedPods ?? 0) > 0) parts.push(`${status.doubleMeshedPods} DOUBLE-MESHED pods`);
  return parts.join("   ");
}

/** A line under the table when something needs a human: a problem, a pause, the gate. */
function notice(snapshot: MigrationSnapshot): string | undefined {
  const degraded = condition(snapshot, "Degraded");
  if (degraded?.status === "True") return `Degraded (${degraded.reason}): ${degraded.message}`;
  const phase = snapshot.status?.phase;
  if (phase === "Holding" || phase === "Paused") {
    const ready = condition(snapshot, phase === "Paused" ? "Paused" : "Ready");
    return `${phase}: ${ready?.message ?? ""}`;
  }
  return undefined;
}

function workloadsCell(ns: NamespaceStatus): string {
  return `${ns.workloads.ready}/${ns.workloads.total} ready`;
}

function truncate(line: string, width: number): string {
  return line.length <= width ? line : `${line.slice(0, Math.max(0, width - 1))}…`;
}

/** The table, one string per line, each at most `width` characters. */
export function renderTable(snapshot: MigrationSnapshot, elapsedMs: number, width = 120): string[] {
  const namespaces = snapshot.status?.namespaces ?? [];
  const header = [
    "NAMESPACE",
    "BATCH",
    "PHASE",
    "WORKLOADS",
    `ON ${snapshot.target}`,
    `ON ${snapshot.source}`,
  ];
  const rows = namespaces.map((ns) => [
    ns.name,
    ns.batch,
    ns.phase,
    workloadsCell(ns),
    String(ns.pods.target),
    String(ns.pods.source),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  const line = (cells: string[], message: string) =>
    `  ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("   ")}   ${message}`.trimEnd();

  const lines = [
    `${snapshot.name}  ${snapshot.source} → ${snapshot.target}   ${headline(snapshot)}   (${formatElapsed(elapsedMs)})`,
  ];
  if (rows.length > 0) {
    lines.push(
      line(
        header.map((h) => h.toUpperCase()),
        "MESSAGE",
      ),
    );
    rows.forEach((row, index) => {
      lines.push(line(row, namespaces[index]?.message ?? ""));
    });
  }
  const shown = lines.map((l) => truncate(l, width));
  const note = notice(snapshot);
  // The notice says what to do next: wrapped, never cut.
  if (note) shown.push(...wrap(note, width - 2).map((l) => `  ${l}`));
  return shown;
}

/** Splits text at spaces into lines of at most `width` characters (longer words are cut). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let current = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (current === "") current = word;
    else if (current.length + 1 + word.length <= width) current = `${current} ${word}`;
    else {
      lines.push(current);
      current = word;
    }
  }
  if (current !== "") lines.push(current);
  return lines.map((line) => truncate(line, width));
}

function namespaceLine(ns: NamespaceStatus, source: string, target: string): string {
  const pods = `pods on ${target} ${ns.pods.target}, on ${source} ${ns.pods.source}`;
  const doubled = ns.pods.doubleMeshed > 0 ? `, DOUBLE-MESHED ${ns.pods.doubleMeshed}` : "";
  const message = ns.message ? ` (${ns.message})` : "";
  return `${ns.name} [${ns.batch}]: ${ns.phase}, workloads ${workloadsCell(ns)}, ${pods}${doubled}${message}`;
}

/**
 * Lines describing what changed between two snapshots (everything, when there is no previous
 * one): the migration's phase/batch/progress, each namespace's state, and the notice.
 */
export function describeChanges(
  previous: MigrationSnapshot | undefined,
  current: MigrationSnapshot,
  elapsedMs: number,
): string[] {
  const stamp = `[${formatElapsed(elapsedMs)}]`;
  const lines: string[] = [];
  if (!previous || headline(previous) !== headline(current)) {
    lines.push(`${stamp} ${current.name}: ${headline(current)}`);
  }
  const before = new Map((previous?.status?.namespaces ?? []).map((ns) => [ns.name, ns]));
  for (const ns of current.status?.namespaces ?? []) {
    const now = namespaceLine(ns, current.source, current.target);
    const old = before.get(ns.name);
    if (!old || namespaceLine(old, current.source, current.target) !== now) lines.push(`${stamp}   ${now}`);
  }
  const note = notice(current);
  if (note && (!previous || notice(previous) !== note)) lines.push(`${stamp}   ${note}`);
  return lines;
}

/** Where the watch stops: done, stuck for a human, or at the gate. Undefined while it moves. */
export type Outcome = "Succeeded" | "Failed" | "Holding" | "Paused" | "RolledBack";

export function outcomeOf(snapshot: MigrationSnapshot): Outcome | undefined {
  const status = snapshot.status;
  // A status computed for an older spec says nothing about the current one.
  if (status?.observedGeneration === undefined || status.observedGeneration !== snapshot.generation) {
    return undefined;
  }
  switch (status.phase) {
    case "Succeeded":
    case "Failed":
    case "Holding":
    case "Paused":
    case "RolledBack":
      return status.phase;
    default:
      return undefined;
  }
}
