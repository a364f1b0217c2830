// Follows a MeshMigration live: reads its status every second through client-node and shows
// it as a table redrawn in place (terminal) or as lines printed when something changes (pipe).
import * as k8s from "@kubernetes/client-node";
import { GROUP, PLURAL, VERSION } from "../../src/api/constants.ts";
import { describeChanges, type MigrationSnapshot, type Outcome, outcomeOf, renderTable } from "./progress.ts";

const POLL_MS = 1000;

interface MeshMigrationObject {
  metadata?: { generation?: number };
  spec?: { source?: { mesh?: string }; target?: { mesh?: string } };
  status?: MigrationSnapshot["status"];
}

export async function readSnapshot(kc: k8s.KubeConfig, name: string): Promise<MigrationSnapshot> {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const object = (await custom.getClusterCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURAL,
    name,
  })) as MeshMigrationObject;
  return {
    name,
    generation: object.metadata?.generation,
    source: object.spec?.source?.mesh ?? "source",
    target: object.spec?.target?.mesh ?? "target",
    status: object.status,
  };
}

/** Where output goes: a terminal gets a redrawn table, anything else a log of changes. */
export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

class Display {
  #out: Output;
  #drawnLines = 0;
  #previous: MigrationSnapshot | undefined;

  constructor(out: Output) {
    this.#out = out;
  }

  show(snapshot: MigrationSnapshot, elapsedMs: number): void {
    if (this.#out.isTTY) {
      const lines = renderTable(snapshot, elapsedMs, (this.#out.columns ?? 120) - 1);
      this.#erase();
      this.#out.write(`${lines.join("\n")}\n`);
      this.#drawnLines = lines.length;
    } else {
      for (const line of describeChanges(this.#previous, snapshot, elapsedMs)) this.#out.write(`${line}\n`);
    }
    this.#previous = snapshot;
  }

  /** A line that stays: printed above the table, which is drawn again below it. */
  note(line: string): void {
    this.#erase();
    this.#out.write(`${line}\n`);
  }

  /** Leaves the last table on screen and stops redrawing over it. */
  release(): void {
    this.#drawnLines = 0;
  }

  #erase(): void {
    // Cursor up over the previous frame, then clear to the end of the screen.
    if (this.#drawnLines > 0) this.#out.write(`\x1b[${this.#drawnLines}A\x1b[0J`);
    this.#drawnLines = 0;
  }
}

export interface WatchOptions {
  kc: k8s.KubeConfig;
  name: string;
  timeoutMs: number;
  out: Output;
  /**
   * Called when the migration reaches an outcome; "continue" keeps watching (e.g. after the
   * gate was advanced), "stop" ends the watch. The note callback prints a line that stays.
   */
  onOutcome: (
    outcome: Outcome,
    snapshot: MigrationSnapshot,
    note: (line: string) => void,
  ) => Promise<"continue" | "stop">;
}

export interface WatchResult {
  outcome: Outcome | "Timeout";
  snapshot: MigrationSnapshot | undefined;
}

export async function watchMigration(options: WatchOptions): Promise<WatchResult> {
  const display = new Display(options.out);
  const started = Date.now();
  let snapshot: MigrationSnapshot | undefined;
  let readError: string | undefined;
  for (;;) {
    try {
      snapshot = await readSnapshot(options.kc, options.name);
      readError = undefined;
    } catch (error) {
      // The apiserver may blip; say so once and keep the last status on screen.
      const message = `could not read meshmigration/${options.name}: ${String(error)}`;
      if (message !== readError) display.note(message);
      readError = message;
    }
    if (snapshot) {
      display.show(snapshot, Date.now() - started);
      const outcome = outcomeOf(snapshot);
      if (outcome) {
        const next = await options.onOutcome(outcome, snapshot, (line) => display.note(line));
        if (next === "stop") {
          display.release();
          return { outcome, snapshot };
        }
      }
    }
    if (Date.now() - started > options.timeoutMs) {
      display.release();
      return { outcome: "Timeout", snapshot };
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
