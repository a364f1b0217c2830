// What each command does with the API and the terminal: read, render or decide, write, report.
import { EXIT_ERROR, EXIT_OK } from "../plan-command.ts";
import type { Connection } from "./args.ts";
import { type MigrationApi, PatchConflict, PluginApiError } from "./migration-api.ts";
import { migrationView } from "./migration-view.ts";
import { renderList } from "./render-list.ts";
import { namespacesToExpand, renderTree } from "./render-tree.ts";
import { wrapText } from "./style.ts";
import { decideVerb, type VerbDecision, type VerbRequest } from "./verbs.ts";
import { type Terminal, watchMigration } from "./watch.ts";
import { workloadsByNamespace } from "./workloads.ts";

/** A steering verb that makes no sense for the migration as it is: nothing was changed. */
export const EXIT_REFUSED = 2;

export interface PluginIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** For plan -f - (the manifest on standard input). */
  readStdin: () => Promise<string>;
  terminal: () => Terminal;
  /** Connects to the cluster a command's --kubeconfig and --context name. */
  connect: (connection: Connection) => MigrationApi;
  now: () => number;
}

function failed(io: PluginIo, error: unknown): number {
  if (!(error instanceof PluginApiError)) throw error;
  io.stderr(`error: ${error.message}\n`);
  return EXIT_ERROR;
}

export async function runGet(
  options: { name: string; watch: boolean; allWorkloads: boolean; connection: Connection },
  io: PluginIo,
): Promise<number> {
  try {
    const api = io.connect(options.connection);
    const initial = await api.get(options.name);
    const terminal = io.terminal();
    if (options.watch) {
      const live = api.live(options.name);
      return await watchMigration({ ...options, initial, live, terminal, now: io.now });
    }
    const view = migrationView(initial);
    const expanded = namespacesToExpand(view, options.allWorkloads);
    const readings = await api.namespaceObjects(expanded);
    const workloads = workloadsByNamespace(view, expanded, (ns) => readings.get(ns));
    const width = terminal.size()?.columns || 100;
    io.stdout(renderTree({ migration: view, workloads, now: io.now(), color: terminal.color, width }));
    return EXIT_OK;
  } catch (error) {
    return failed(io, error);
  }
}

export async function runList(options: { connection: Connection }, io: PluginIo): Promise<number> {
  try {
    const items = await io.connect(options.connection).list();
    io.stdout(renderList(items.map(migrationView), io.now(), io.terminal().color));
    return EXIT_OK;
  } catch (error) {
    return failed(io, error);
  }
}

/**
 * A status write also moves the resourceVersion: a conflict while the generation (the spec) is
 * unchanged is the operator reporting progress, not someone's edit, so the verb is decided again
 * on the object as it is now, up to this many times in all.
 */
const PATCH_ATTEMPTS = 3;

/** Reads, decides and patches until the patch lands, the spec changes under it, or attempts run out. */
async function patchOnce(
  api: MigrationApi,
  name: string,
  request: VerbRequest,
): Promise<VerbDecision | { specEdited: string }> {
  let generation: number | undefined;
  for (let attempt = 1; ; attempt++) {
    const view = migrationView(await api.get(name));
    if (attempt > 1 && view.generation !== generation) {
      return {
        specEdited:
          `meshmigration ${name}'s spec was changed by someone else while this command ran (generation ` +
          `${generation} → ${view.generation}): nothing was changed. Run the command again to act on its ` +
          "spec as it is now.",
      };
    }
    generation = view.generation;
    const decision = decideVerb(view, request);
    if (!decision.ok) return decision;
    try {
      await api.patchSpec(name, decision.patch);
      return decision;
    } catch (error) {
      if (!(error instanceof PatchConflict) || attempt >= PATCH_ATTEMPTS) throw error;
    }
  }
}

export async function runVerb(
  options: { name: string; request: VerbRequest; connection: Connection },
  io: PluginIo,
): Promise<number> {
  try {
    const api = io.connect(options.connection);
    const decision = await patchOnce(api, options.name, options.request);
    if ("specEdited" in decision) {
      io.stderr(`error: ${decision.specEdited}\n`);
      return EXIT_ERROR;
    }
    if (!decision.ok) {
      io.stderr(`refused: ${decision.refusal}\n`);
      return EXIT_REFUSED;
    }
    io.stdout(
      `meshmigration/${options.name} patched\n` +
        decision.changes.map((change) => `  ${change}\n`).join("") +
        decision.notes.flatMap((note) => wrapText(note, "", 100).map((line) => `${line}\n`)).join(""),
    );
    return EXIT_OK;
  } catch (error) {
    return failed(io, error);
  }
}
