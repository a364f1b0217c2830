// `kubectl meshmigration get NAME`: the migration as a person checks on it. A header (phase,
// direction, gate, progress of the migration and of its current batch, elapsed time), what needs a
// person, then the tree batches → namespaces → workloads with each one's phase and pods. Pure:
// the same view, clock and colour flag always give the same text.
import type { BatchStatus, MeshMigrationStatus, NamespaceStatus } from "../../api/schema.ts";
import type { PodCounts } from "../../controller/namespace/types.ts";
import { MAX_RESTART_ATTEMPTS } from "../../controller/restarts.ts";
import {
  conditionsNeedingAPerson,
  directionOf,
  type MigrationView,
  movement,
  type SpecView,
  statusIsCurrent,
} from "./migration-view.ts";
import { formatDuration, type Painter, painter, phaseLook, progressBar, wrapText } from "./style.ts";
import type { WorkloadRow } from "./workloads.ts";

export const NOT_HANDLED =
  "not handled by any operator: no status yet (is an operator running, and does its " +
  "--migration-selector match this migration's labels?)";

export interface TreeInput {
  migration: MigrationView;
  /** Workload rows of the namespaces shown expanded, or why they could not be read. */
  workloads: ReadonlyMap<string, readonly WorkloadRow[] | string>;
  /** The clock in ms; undefined leaves the elapsed time out (to compare two frames). */
  now: number | undefined;
  color: boolean;
  /** Where long messages wrap (the terminal's width). */
  width: number;
}

const SETTLED_NAMESPACE_PHASES: readonly string[] = ["Pending", "Migrated", "RolledBack"];
const KEY_WIDTH = 15;

/**
 * The namespaces whose workloads the tree shows: those moving or stuck (a settled namespace's
 * counts say enough), or every namespace of the status with `all`.
 */
export function namespacesToExpand(view: MigrationView, all: boolean): string[] {
  return (view.status?.namespaces ?? [])
    .filter((ns) => all || !SETTLED_NAMESPACE_PHASES.includes(ns.phase))
    .map((ns) => ns.name);
}

/** "Key            value", the value wrapped under itself within `width`. */
function fieldLines(key: string, value: string, width: number, paint?: (text: string) => string): string[] {
  const lines = wrapText(value, "", width - KEY_WIDTH);
  const [first = "", ...rest] = lines;
  return [
    `${key.padEnd(KEY_WIDTH)}${paint && rest.length === 0 ? paint(first) : first}`,
    ...rest.map((line) => `${" ".repeat(KEY_WIDTH)}${line}`),
  ];
}

function phaseText(phase: string, paint: Painter): string {
  const look = phaseLook(phase);
  return paint.tone(look.tone, `${look.symbol} ${phase}`);
}

function directionText(spec: SpecView): string {
  return directionOf(spec) === "forward"
    ? `forward, ${movement(spec)}`
    : `rollback, ${movement(spec)} (back to the recorded originals)`;
}

function gateText(view: MigrationView): string {
  const { batches, stopAfterBatch, rollback } = view.spec;
  if (stopAfterBatch === undefined) return "none: every batch runs in order";
  const next = batches[batches.indexOf(stopAfterBatch) + 1];
  const where = `stopAfterBatch: ${stopAfterBatch}`;
  if (rollback) return `${where} (not applied while rolling back)`;
  if (next === undefined) return `${where}, the last batch: it holds nothing`;
  if (view.status?.phase === "Holding") {
    return `${where}, holding before ${next} (kubectl meshmigration promote ${view.name} moves it)`;
  }
  return `${where} (holds before ${next})`;
}

function header(input: TreeInput, paint: Painter): string[] {
  const { migration: view, now } = input;
  const { spec, status } = view;
  const field = (key: string, value: string, bold?: (text: string) => string) =>
    fieldLines(key, value, input.width, bold);
  const lines = [
    ...field("MeshMigration", view.name, paint.bold),
    ...field("Direction", directionText(spec)),
  ];
  if (status === undefined) {
    lines.push(...field("Phase", NOT_HANDLED));
    const labels = Object.entries(view.labels).map(([key, value]) => `${key}=${value}`);
    lines.push(...field("Labels", labels.length > 0 ? labels.join(", ") : "none"));
    lines.push(...field("Batches", spec.batches.join(", ")));
  } else {
    lines.push(`${"Phase".padEnd(KEY_WIDTH)}${phaseText(status.phase ?? "Unknown", paint)}`);
  }
  lines.push(...field("Gate", gateText(view)));
  if (spec.paused) {
    lines.push(
      ...field("Paused", `yes: nothing new starts (kubectl meshmigration resume ${view.name} continues)`),
    );
  }
  if (spec.dryRun) lines.push(...field("Dry run", "yes: only the plan is published; nothing changes"));
  if (status !== undefined) lines.push(...progressLines(view, status, input.width, paint));
  if (status !== undefined && !statusIsCurrent(view)) {
    lines.push(
      ...field(
        "Status",
        `for generation ${status.observedGeneration ?? "?"}; the operator has not acted on generation ` +
          `${view.generation ?? "?"} (the last spec edit) yet`,
      ),
    );
  }
  if (now !== undefined && view.createdAt !== undefined) {
    lines.push(...field("Elapsed", `${formatDuration(now - view.createdAt)} since it was created`));
  }
  return lines;
}

function progressLines(
  view: MigrationView,
  status: MeshMigrationStatus,
  width: number,
  paint: Painter,
): string[] {
  const done = directionOf(view.spec) === "forward" ? "migrated" : "rolled back";
  const lines = [
    `${"Progress".padEnd(KEY_WIDTH)}${progressBar(status.migratedNamespaces ?? 0, status.totalNamespaces ?? 0)} namespaces ${done}`,
  ];
  const current = status.batches?.find((batch) => batch.name === status.currentBatch);
  if (current) {
    const label = `Batch ${current.name}`;
    lines.push(
      `${label.padEnd(KEY_WIDTH - 1)} ${progressBar(current.migrated, current.namespaces.length)} namespaces ${done}`,
    );
  }
  const doubleMeshed = status.doubleMeshedPods ?? 0;
  const alarm = doubleMeshed > 0 ? (text: string) => paint.tone("problem", text) : undefined;
  lines.push(...fieldLines("Double-meshed", `${doubleMeshed} pods`, width, alarm));
  return lines;
}

function attention(view: MigrationView, paint: Painter, width: number): string[] {
  const conditions = conditionsNeedingAPerson(view);
  if (conditions.length === 0) return [];
  return [
    "",
    paint.bold("Needs a person:"),
    ...conditions.flatMap((c) => [
      `  ${paint.tone("problem", "✖")} ${c.type} (${c.reason})`,
      ...wrapText(c.message, "    ", width),
    ]),
  ];
}

// ---------------------------------------------------------------------------------------------
// The tree

interface Row {
  name: string;
  phase: string;
  pods: PodCounts | undefined;
  info: string;
  /** Lines under the row (a namespace's message), already indented. */
  notes: string[];
}

const NO_PODS: PodCounts = { target: 0, source: 0, unmeshed: 0, doubleMeshed: 0 };

function sumPods(counts: readonly PodCounts[]): PodCounts {
  return counts.reduce(
    (sum, c) => ({
      target: sum.target + c.target,
      source: sum.source + c.source,
      unmeshed: sum.unmeshed + c.unmeshed,
      doubleMeshed: sum.doubleMeshed + c.doubleMeshed,
    }),
    NO_PODS,
  );
}

function batchInfo(view: MigrationView, batch: BatchStatus): string {
  const parts = [`${batch.migrated}/${batch.namespaces.length} namespaces`];
  if (batch.name === view.status?.currentBatch) parts.push("current");
  const gate = view.spec.stopAfterBatch;
  const gateIndex = gate === undefined ? -1 : view.spec.batches.indexOf(gate);
  const held = gateIndex >= 0 && view.spec.batches.indexOf(batch.name) > gateIndex;
  if (held && !view.spec.rollback && batch.phase === "Pending") parts.push("held by the gate");
  return parts.join(", ");
}

function namespaceInfo(ns: NamespaceStatus): string {
  const { total, restarted, ready } = ns.workloads;
  const untouched = restarted === 0 && ready === 0;
  const parts = [
    untouched
      ? `${total} workload${total === 1 ? "" : "s"}`
      : `restarted ${restarted}/${total}, ready ${ready}`,
  ];
  const unmanaged = ns.unmanagedPods?.length ?? 0;
  if (unmanaged > 0) parts.push(`${unmanaged} unmanaged pod${unmanaged === 1 ? "" : "s"}`);
  return parts.join(", ");
}

function workloadInfo(row: WorkloadRow): string {
  const parts = [`pods ready ${row.readyPods}/${row.desiredPods}`];
  if (row.retry !== undefined) parts.push(`restart attempt ${row.retry} of ${MAX_RESTART_ATTEMPTS}`);
  return parts.join(", ");
}

/** What the tree shows under a namespace; a message already under "Needs a person" is not repeated. */
function namespaceNotes(
  ns: NamespaceStatus,
  expanded: boolean,
  indent: string,
  context: RowContext,
): string[] {
  if (!expanded || !ns.message) return [];
  const message = context.shownAbove.has(ns.message)
    ? "(its message is under Needs a person, above)"
    : ns.message;
  const notes = wrapText(message, indent, context.width);
  if (ns.doubleMeshedPods && ns.doubleMeshedPods.length > 0) {
    notes.push(...wrapText(`double-meshed pods: ${ns.doubleMeshedPods.join(", ")}`, indent, context.width));
  }
  return notes;
}

/** The rows of one namespace and its workloads, drawn under `prefix` (the batch's continuation). */
interface RowContext {
  width: number;
  /** The messages of the conditions shown under "Needs a person". */
  shownAbove: ReadonlySet<string>;
}

function namespaceRows(
  ns: NamespaceStatus,
  last: boolean,
  workloads: readonly WorkloadRow[] | string | undefined,
  context: RowContext,
): Row[] {
  const expanded = workloads !== undefined;
  const children = Array.isArray(workloads) ? workloads : [];
  const under = last ? "   " : "│  ";
  const noteIndent = `${under}${children.length > 0 ? "│ " : "  "}`;
  const notes = namespaceNotes(ns, expanded, noteIndent, context);
  if (typeof workloads === "string") {
    notes.push(...wrapText(`workloads unknown: ${workloads}`, noteIndent, context.width));
  }
  const rows: Row[] = [
    {
      name: `${last ? "└─" : "├─"} ${ns.name}`,
      phase: ns.phase,
      pods: ns.pods,
      info: namespaceInfo(ns),
      notes,
    },
  ];
  children.forEach((workload, index) => {
    const branch = index === children.length - 1 ? "└─" : "├─";
    rows.push({
      name: `${under}${branch} ${workload.ref}`,
      phase: workload.phase,
      pods: workload.pods,
      info: workloadInfo(workload),
      notes: [],
    });
  });
  return rows;
}

function treeRows(input: TreeInput, status: MeshMigrationStatus): Row[] {
  const namespaces = status.namespaces ?? [];
  const context: RowContext = {
    width: input.width,
    shownAbove: new Set(conditionsNeedingAPerson(input.migration).map((c) => c.message)),
  };
  return (status.batches ?? []).flatMap((batch) => {
    const members = namespaces.filter((ns) => ns.batch === batch.name);
    return [
      {
        name: batch.name,
        phase: batch.phase,
        pods: sumPods(members.map((ns) => ns.pods)),
        info: batchInfo(input.migration, batch),
        notes: [],
      },
      ...members.flatMap((ns, index) =>
        namespaceRows(ns, index === members.length - 1, input.workloads.get(ns.name), context),
      ),
    ];
  });
}

/** The pod columns count pods on the target mesh, on the source, on no mesh, and on two at once. */
const COLUMNS = ["NAME", "PHASE", "TARGET", "SOURCE", "UNMESHED", "DOUBLE-MESHED", "INFO"] as const;

/** The rows as aligned columns: widths measured on plain text, colour added after padding. */
function table(rows: readonly Row[], paint: Painter): string[] {
  const cells = rows.map((row) => {
    const look = phaseLook(row.phase);
    const pods = row.pods;
    return [
      row.name,
      `${look.symbol} ${row.phase}`,
      ...(pods ? [pods.target, pods.source, pods.unmeshed, pods.doubleMeshed].map(String) : ["", "", "", ""]),
      row.info,
    ];
  });
  const widths = COLUMNS.map((title, column) =>
    Math.max(title.length, ...cells.map((row) => (row[column] ?? "").length)),
  );
  const numeric = (column: number) => column >= 2 && column <= 5;
  const pad = (text: string, column: number) =>
    numeric(column) ? text.padStart(widths[column] ?? 0) : text.padEnd(widths[column] ?? 0);
  const line = (row: readonly string[], phaseTone?: Parameters<Painter["tone"]>[0]) =>
    row
      .map((cell, column) => {
        const padded = column === row.length - 1 ? cell : pad(cell, column);
        if (column !== 1 || phaseTone === undefined) return padded;
        return paint.tone(phaseTone, cell) + padded.slice(cell.length);
      })
      .join("  ")
      .trimEnd();
  return [
    paint.bold(line(COLUMNS)),
    ...rows.flatMap((row, index) => [line(cells[index] ?? [], phaseLook(row.phase).tone), ...row.notes]),
  ];
}

export function renderTree(input: TreeInput): string {
  const paint = painter(input.color);
  const view = input.migration;
  const lines = [...header(input, paint)];
  if (view.status !== undefined) {
    lines.push(...attention(view, paint, input.width));
    const rows = treeRows(input, view.status);
    lines.push("", ...(rows.length > 0 ? table(rows, paint) : ["No batch in the status yet."]));
  }
  return `${lines.join("\n")}\n`;
}
