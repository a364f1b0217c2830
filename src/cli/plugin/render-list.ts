// `kubectl meshmigration list`: every MeshMigration on one line, with the direction it moves in
// (after a rollback, PROGRESS alone reads as it did after the forward move). Pure.
import { directionOf, type MigrationView, movement } from "./migration-view.ts";
import { formatDuration, painter, phaseLook, wrapText } from "./style.ts";

const COLUMNS = ["NAME", "PHASE", "DIRECTION", "MESHES", "PROGRESS", "BATCH", "AGE"] as const;

function cellsOf(view: MigrationView, now: number): string[] {
  const phase = view.status?.phase;
  const direction = directionOf(view.spec);
  const done = direction === "forward" ? "migrated" : "rolled back";
  const status = view.status;
  return [
    view.name,
    phase === undefined ? "- (no status)" : `${phaseLook(phase).symbol} ${phase}`,
    direction,
    movement(view.spec),
    status?.totalNamespaces === undefined
      ? "-"
      : `${status.migratedNamespaces ?? 0}/${status.totalNamespaces} ${done}`,
    status?.currentBatch ?? "-",
    view.createdAt === undefined ? "-" : formatDuration(now - view.createdAt),
  ];
}

export function renderList(views: readonly MigrationView[], now: number, color: boolean): string {
  if (views.length === 0) {
    return "No MeshMigrations found. Create one with kubectl apply -f migration.yaml (see the README's Using it).\n";
  }
  const paint = painter(color);
  const sorted = [...views].sort((a, b) => a.name.localeCompare(b.name));
  const rows = sorted.map((view) => cellsOf(view, now));
  const widths = COLUMNS.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: readonly string[], phase?: string) =>
    cells
      .map((cell, column) => {
        const padding = column === cells.length - 1 ? "" : " ".repeat((widths[column] ?? 0) - cell.length);
        const text = column === 1 && phase !== undefined ? paint.tone(phaseLook(phase).tone, cell) : cell;
        return text + padding;
      })
      .join("  ");
  const lines = [paint.bold(line(COLUMNS)), ...rows.map((row, i) => line(row, sorted[i]?.status?.phase))];
  const unhandled = sorted.filter((view) => view.status === undefined).length;
  if (unhandled > 0) {
    lines.push(
      "",
      ...wrapText(
        `${unhandled} without a status: not handled by any operator yet (is an operator running, and does ` +
          "its --migration-selector match their labels?)",
        "",
        100,
      ),
    );
  }
  return `${lines.join("\n")}\n`;
}
