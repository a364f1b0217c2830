// The steering verbs as decisions: from the MeshMigration as it was read, either the one merge
// patch of its spec (carrying the resourceVersion read, so a concurrent edit conflicts instead of
// being overwritten) and what it changes, or a refusal that says why and what to do instead.
// Pure: no client here.
import type { MigrationView } from "./migration-view.ts";

export type PromoteTo = { kind: "next" } | { kind: "batch"; batch: string } | { kind: "full" };

export type VerbRequest =
  | { verb: "pause" }
  | { verb: "resume" }
  | { verb: "rollback" }
  | { verb: "undo-rollback" }
  | { verb: "promote"; to: PromoteTo };

export type Verb = VerbRequest["verb"];

/** A JSON merge patch (RFC 7386) of the spec; null removes a field. */
export interface SpecPatch {
  metadata: { resourceVersion: string };
  spec: Record<string, boolean | string | null>;
}

export interface Refusal {
  ok: false;
  /** Why nothing was changed, and what to do instead. */
  refusal: string;
}

export type VerbDecision = { ok: true; patch: SpecPatch; changes: string[]; notes: string[] } | Refusal;

const plugin = (verb: string, name: string) => `kubectl meshmigration ${verb} ${name}`;

function refuse(refusal: string): Refusal {
  return { ok: false, refusal };
}

function change(
  view: MigrationView,
  field: string,
  from: boolean | string | undefined,
  to: boolean | string | null,
  notes: string[],
): VerbDecision {
  const shown = (value: boolean | string | null | undefined) =>
    value === undefined || value === null ? "(none)" : String(value);
  return {
    ok: true,
    patch: { metadata: { resourceVersion: view.resourceVersion }, spec: { [field]: to } },
    changes: [`${field}: ${shown(from)} → ${shown(to)}`],
    notes,
  };
}

function stillPausedNote(view: MigrationView, what: string): string[] {
  return view.spec.paused
    ? [`It is still paused (spec.paused: true): ${what} once you run ${plugin("resume", view.name)}.`]
    : [];
}

function pause(view: MigrationView): VerbDecision {
  if (view.spec.paused) {
    return refuse(
      `meshmigration ${view.name} is already paused (spec.paused: true): nothing changed. ` +
        `To continue it, run ${plugin("resume", view.name)}.`,
    );
  }
  return change(view, "paused", false, true, [
    "No new namespace step or restart starts; rollouts already running settle.",
    `To continue, run ${plugin("resume", view.name)}.`,
  ]);
}

function resume(view: MigrationView): VerbDecision {
  if (!view.spec.paused) {
    return refuse(
      `meshmigration ${view.name} is not paused (spec.paused is false): nothing to resume. ` +
        `To stop it starting anything new, run ${plugin("pause", view.name)}.`,
    );
  }
  return change(view, "paused", true, false, ["It continues where it stopped."]);
}

function rollback(view: MigrationView): VerbDecision {
  if (view.spec.rollback) {
    return refuse(
      `meshmigration ${view.name} is already rolling back (spec.rollback: true, phase ` +
        `${view.status?.phase ?? "unknown"}): nothing changed. To migrate forward again, run ` +
        `${plugin("undo-rollback", view.name)}.`,
    );
  }
  return change(view, "rollback", false, true, [
    "Every namespace it touched returns to its recorded original, the ones in flight first, then the " +
      "others in reverse order; its workloads restart and their pods are verified back on " +
      `${view.spec.source.mesh}.`,
    ...stillPausedNote(view, "the rollback starts"),
    `To migrate forward again instead, run ${plugin("undo-rollback", view.name)}.`,
  ]);
}

function undoRollback(view: MigrationView): VerbDecision {
  if (!view.spec.rollback) {
    return refuse(
      `meshmigration ${view.name} is not rolling back (spec.rollback is false): nothing to undo. ` +
        `To return its namespaces to ${view.spec.source.mesh}, run ${plugin("rollback", view.name)}.`,
    );
  }
  const gate = view.spec.stopAfterBatch;
  return change(view, "rollback", true, false, [
    `It migrates forward again${gate ? `, up to the gate (batch ${gate})` : ""}.`,
    ...stillPausedNote(view, "it moves"),
  ]);
}

type GateMove = { ok: true; to: string | null } | Refusal;

/** Where the gate goes: the next batch, a named later batch, or away (null). */
function gateMove(view: MigrationView, gate: string, to: PromoteTo): GateMove {
  const { batches } = view.spec;
  const gateIndex = batches.indexOf(gate);
  if (to.kind === "full") return { ok: true, to: null };
  if (to.kind === "next") {
    const next = batches[gateIndex + 1];
    if (next === undefined) {
      return refuse(
        `meshmigration ${view.name}'s gate is on its last batch (${gate}), so it holds nothing: there is ` +
          `no batch to promote to. To remove the gate anyway, run ${plugin("promote", view.name)} --full.`,
      );
    }
    // A gate on the last batch holds nothing: promoting to it is removing the gate.
    return { ok: true, to: gateIndex + 1 === batches.length - 1 ? null : next };
  }
  const index = batches.indexOf(to.batch);
  if (index < 0) {
    return refuse(
      `meshmigration ${view.name} has no batch "${to.batch}" (its batches: ${batches.join(", ")}): nothing ` +
        "changed. Name one of them with --to, or use --full to remove the gate.",
    );
  }
  if (index <= gateIndex) {
    return refuse(
      `--to ${to.batch} would not move the gate forward: it is at ${gate}` +
        `${index < gateIndex ? `, and ${to.batch} comes before it` : " already"}. Name a later batch ` +
        `(${batches.slice(gateIndex + 1).join(", ") || "there is none"}) or use --full. To hold at an ` +
        "earlier batch instead, edit spec.stopAfterBatch yourself (a batch already started goes on).",
    );
  }
  return { ok: true, to: to.batch };
}

function promote(view: MigrationView, to: PromoteTo): VerbDecision {
  const gate = view.spec.stopAfterBatch;
  if (gate === undefined) {
    return refuse(
      `meshmigration ${view.name} has no gate (spec.stopAfterBatch is not set): every batch already runs ` +
        "in order, so there is nothing to promote.",
    );
  }
  if (view.spec.rollback) {
    return refuse(
      `meshmigration ${view.name} is rolling back (spec.rollback: true), and the gate only holds a forward ` +
        `migration: nothing changed. To go forward again, run ${plugin("undo-rollback", view.name)}, ` +
        "then promote.",
    );
  }
  const move = gateMove(view, gate, to);
  if (!move.ok) return move;
  const target = move.to;
  const { batches } = view.spec;
  const remaining = batches.slice(batches.indexOf(gate) + 1);
  const started =
    target === null
      ? `Every remaining batch runs (${remaining.join(", ")}).`
      : `Batches up to ${target} run (${remaining.slice(0, remaining.indexOf(target) + 1).join(", ")}); ` +
        `it holds again after ${target}.`;
  return change(view, "stopAfterBatch", gate, target, [started, ...stillPausedNote(view, "they start")]);
}

/** The patch for a verb, or why it makes no sense for this migration as it was read. */
export function decideVerb(view: MigrationView, request: VerbRequest): VerbDecision {
  if (view.deleting) {
    return refuse(
      `meshmigration ${view.name} is being deleted: the operator is returning the namespaces it had ` +
        "started and removing its bookkeeping, and a spec edit no longer changes that.",
    );
  }
  switch (request.verb) {
    case "pause":
      return pause(view);
    case "resume":
      return resume(view);
    case "rollback":
      return rollback(view);
    case "undo-rollback":
      return undoRollback(view);
    case "promote":
      return promote(view, request.to);
  }
}
