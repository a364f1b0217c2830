// Each steering verb as a decision on the MeshMigration as read: the one merge patch of its spec
// (with the resourceVersion read, so a concurrent edit conflicts) and the change it prints, or a
// refusal saying why and what to do instead.
import { describe, expect, it } from "vitest";
import { migrationView } from "../../../../src/cli/plugin/migration-view.ts";
import { decideVerb, type VerbDecision, type VerbRequest } from "../../../../src/cli/plugin/verbs.ts";
import { progressingMigration } from "./fixtures.ts";

type Json = Record<string, unknown>;

/** The fixture (gate at wave-1 of canary, wave-1, wave-2; not paused; forward) with spec edits. */
function migration(spec: Json = {}, metadata: Json = {}) {
  const raw = progressingMigration();
  Object.assign(raw.spec as Json, spec);
  Object.assign(raw.metadata as Json, metadata);
  for (const [key, value] of Object.entries(spec)) if (value === undefined) delete (raw.spec as Json)[key];
  return migrationView(raw);
}

function patched(decision: VerbDecision) {
  if (!decision.ok) throw new Error(`refused: ${decision.refusal}`);
  return decision;
}

function refusal(decision: VerbDecision): string {
  if (decision.ok) throw new Error(`not refused: ${JSON.stringify(decision.patch)}`);
  return decision.refusal;
}

const promote = (to: Extract<VerbRequest, { verb: "promote" }>["to"]): VerbRequest => ({
  verb: "promote",
  to,
});

describe("pause and resume", () => {
  it("pause sets spec.paused, conditional on the resourceVersion read", () => {
    const decision = patched(decideVerb(migration(), { verb: "pause" }));
    expect(decision.patch).toEqual({ metadata: { resourceVersion: "81234" }, spec: { paused: true } });
    expect(decision.changes).toEqual(["paused: false → true"]);
    expect(decision.notes.join(" ")).toContain("kubectl meshmigration resume istio-to-linkerd");
  });

  it("refuses to pause a paused migration and says how to resume", () => {
    const text = refusal(decideVerb(migration({ paused: true }), { verb: "pause" }));
    expect(text).toContain("already paused");
    expect(text).toContain("kubectl meshmigration resume istio-to-linkerd");
  });

  it("resume clears spec.paused", () => {
    const decision = patched(decideVerb(migration({ paused: true }), { verb: "resume" }));
    expect(decision.patch.spec).toEqual({ paused: false });
    expect(decision.changes).toEqual(["paused: true → false"]);
  });

  it("refuses to resume a migration that is not paused", () => {
    expect(refusal(decideVerb(migration(), { verb: "resume" }))).toContain(
      "is not paused (spec.paused is false): nothing to resume",
    );
  });
});

describe("promote", () => {
  const batches = [
    { name: "canary", namespaces: ["a"] },
    { name: "wave-1", namespaces: ["b"] },
    { name: "wave-2", namespaces: ["c"] },
    { name: "wave-3", namespaces: ["d"] },
  ];

  it("moves the gate to the next batch", () => {
    const decision = patched(
      decideVerb(migration({ batches, stopAfterBatch: "canary" }), promote({ kind: "next" })),
    );
    expect(decision.patch.spec).toEqual({ stopAfterBatch: "wave-1" });
    expect(decision.changes).toEqual(["stopAfterBatch: canary → wave-1"]);
    expect(decision.notes[0]).toBe("Batches up to wave-1 run (wave-1); it holds again after wave-1.");
  });

  it("removes the gate rather than putting it on the last batch, where it would hold nothing", () => {
    // The fixture's gate is at wave-1; the next batch, wave-2, is the last.
    const last = patched(decideVerb(migration(), promote({ kind: "next" })));
    expect(last.patch.spec).toEqual({ stopAfterBatch: null });
    expect(last.changes).toEqual(["stopAfterBatch: wave-1 → (none)"]);
    expect(last.notes[0]).toBe("Every remaining batch runs (wave-2).");
  });

  it("--to BATCH lets every batch up to it run", () => {
    const decision = patched(
      decideVerb(
        migration({ batches, stopAfterBatch: "canary" }),
        promote({ kind: "batch", batch: "wave-2" }),
      ),
    );
    expect(decision.patch.spec).toEqual({ stopAfterBatch: "wave-2" });
    expect(decision.notes[0]).toBe("Batches up to wave-2 run (wave-1, wave-2); it holds again after wave-2.");
  });

  it("--full removes the gate", () => {
    const decision = patched(
      decideVerb(migration({ batches, stopAfterBatch: "canary" }), promote({ kind: "full" })),
    );
    expect(decision.patch).toEqual({
      metadata: { resourceVersion: "81234" },
      spec: { stopAfterBatch: null },
    });
    expect(decision.notes[0]).toBe("Every remaining batch runs (wave-1, wave-2, wave-3).");
  });

  it("refuses a migration that has no gate", () => {
    expect(refusal(decideVerb(migration({ stopAfterBatch: undefined }), promote({ kind: "next" })))).toBe(
      "meshmigration istio-to-linkerd has no gate (spec.stopAfterBatch is not set): every batch already runs " +
        "in order, so there is nothing to promote.",
    );
  });

  it("refuses --to an unknown batch, listing the batches there are", () => {
    expect(refusal(decideVerb(migration(), promote({ kind: "batch", batch: "wave-9" })))).toContain(
      'has no batch "wave-9" (its batches: canary, wave-1, wave-2)',
    );
  });

  it("refuses --to a batch that is not after the gate", () => {
    const back = refusal(decideVerb(migration(), promote({ kind: "batch", batch: "canary" })));
    expect(back).toContain("would not move the gate forward: it is at wave-1, and canary comes before it");
    const same = refusal(decideVerb(migration(), promote({ kind: "batch", batch: "wave-1" })));
    expect(same).toContain("it is at wave-1 already");
  });

  it("refuses to promote a gate that is on the last batch, pointing at --full", () => {
    expect(refusal(decideVerb(migration({ stopAfterBatch: "wave-2" }), promote({ kind: "next" })))).toContain(
      "promote istio-to-linkerd --full",
    );
  });

  it("refuses while rolling back: the gate only holds a forward migration", () => {
    expect(refusal(decideVerb(migration({ rollback: true }), promote({ kind: "next" })))).toContain(
      "kubectl meshmigration undo-rollback istio-to-linkerd",
    );
  });

  it("says a paused migration stays paused after the gate moves", () => {
    const decision = patched(decideVerb(migration({ paused: true }), promote({ kind: "full" })));
    expect(decision.notes.join(" ")).toContain("It is still paused (spec.paused: true)");
  });
});

describe("rollback and undo-rollback", () => {
  it("rollback sets spec.rollback", () => {
    const decision = patched(decideVerb(migration(), { verb: "rollback" }));
    expect(decision.patch.spec).toEqual({ rollback: true });
    expect(decision.changes).toEqual(["rollback: false → true"]);
    expect(decision.notes.join(" ")).toContain("verified back on istio");
  });

  it("refuses to roll back a migration already rolling back", () => {
    expect(refusal(decideVerb(migration({ rollback: true }), { verb: "rollback" }))).toContain(
      "is already rolling back (spec.rollback: true, phase Progressing)",
    );
  });

  it("undo-rollback clears spec.rollback and says it goes forward up to the gate", () => {
    const decision = patched(decideVerb(migration({ rollback: true }), { verb: "undo-rollback" }));
    expect(decision.patch.spec).toEqual({ rollback: false });
    expect(decision.changes).toEqual(["rollback: true → false"]);
    expect(decision.notes[0]).toBe("It migrates forward again, up to the gate (batch wave-1).");
  });

  it("refuses to undo a rollback that is not happening", () => {
    expect(refusal(decideVerb(migration(), { verb: "undo-rollback" }))).toContain(
      "is not rolling back (spec.rollback is false): nothing to undo",
    );
  });
});

describe("a migration being deleted", () => {
  it("refuses every verb: a spec edit no longer changes what happens", () => {
    const deleting = migration({}, { deletionTimestamp: "2026-12-02T10:13:00Z" });
    for (const request of [
      { verb: "pause" },
      { verb: "resume" },
      { verb: "rollback" },
      { verb: "undo-rollback" },
      promote({ kind: "full" }),
    ] as VerbRequest[]) {
      expect(refusal(decideVerb(deleting, request))).toContain("is being deleted");
    }
  });
});
