// What `kubectl meshmigration get` prints, compared with reviewed snapshots (snapshots/*.txt are
// written by hand-checked runs and read here, never rewritten by the test): the tree of a
// migration under way, of a halted one, and of one no operator handles; and the same text with
// colour on a terminal and none in a pipe.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { migrationView } from "../../../../src/cli/plugin/migration-view.ts";
import { NOT_HANDLED, namespacesToExpand, renderTree } from "../../../../src/cli/plugin/render-tree.ts";
import { stripAnsi } from "../../../../src/cli/plugin/style.ts";
import { type NamespaceObjects, workloadsByNamespace } from "../../../../src/cli/plugin/workloads.ts";
import {
  failedMigration,
  NOW,
  progressingMigration,
  rolledBackMigration,
  shopOrdersFailed,
  shopOrdersRestarting,
  unhandledMigration,
} from "./fixtures.ts";

function snapshot(name: string): string {
  return readFileSync(new URL(`snapshots/${name}`, import.meta.url), "utf8");
}

function tree(
  raw: unknown,
  shopOrders: NamespaceObjects | undefined,
  options: { color?: boolean; now?: number | undefined } = {},
): string {
  const view = migrationView(raw);
  const expanded = namespacesToExpand(view, false);
  const workloads = workloadsByNamespace(view, expanded, (ns) =>
    ns === "shop-orders" ? shopOrders : undefined,
  );
  const now = "now" in options ? options.now : NOW;
  return renderTree({ migration: view, workloads, now, color: options.color ?? false, width: 100 });
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape character is what is looked for
const ESCAPE = /\x1b/;

describe("get: the tree", () => {
  it("shows a migration under way as the reviewed snapshot: batches, namespaces, the restarting namespace's workloads", () => {
    expect(tree(progressingMigration(), shopOrdersRestarting())).toBe(snapshot("get-progressing.txt"));
  });

  it("shows a halted migration with what needs a person, once, and the workload that failed", () => {
    expect(tree(failedMigration(), shopOrdersFailed())).toBe(snapshot("get-failed.txt"));
  });

  it("says a migration without status is not handled by any operator, with its labels to compare", () => {
    const text = tree(unhandledMigration(), undefined);
    expect(text).toBe(snapshot("get-not-handled.txt"));
    expect(text.replace(/\s+/g, " ")).toContain(NOT_HANDLED);
  });

  it("has no escape codes when not on a terminal, and the same text in colour on one", () => {
    const plain = tree(failedMigration(), shopOrdersFailed(), { color: false });
    const colored = tree(failedMigration(), shopOrdersFailed(), { color: true });
    expect(plain).not.toMatch(ESCAPE);
    expect(colored).toMatch(ESCAPE);
    expect(stripAnsi(colored)).toBe(plain);
  });

  it("expands only the namespaces that are moving or stuck, unless asked for all", () => {
    const view = migrationView(progressingMigration());
    expect(namespacesToExpand(view, false)).toEqual(["shop-orders"]);
    expect(namespacesToExpand(view, true)).toEqual([
      "shop-frontend",
      "shop-payments",
      "shop-orders",
      "shop-ledger",
      "shop-search",
    ]);
  });

  it("leaves the clock out when no time is given, so two frames compare on content", () => {
    const text = tree(progressingMigration(), shopOrdersRestarting(), { now: undefined });
    expect(text).not.toContain("Elapsed");
    expect(text).toContain("Progress");
  });

  it("says which way a rollback moves and counts namespaces rolled back", () => {
    const text = tree(rolledBackMigration(), undefined);
    expect(text).toContain("rollback, istio-ambient → istio (back to the recorded originals)");
    expect(text).toContain("5/5 namespaces rolled back");
    expect(text).toContain("not applied while rolling back");
  });

  it("says when the status is older than the spec (the operator has not seen the last edit)", () => {
    const raw = progressingMigration();
    (raw.metadata as { generation: number }).generation = 5;
    expect(tree(raw, undefined)).toContain(
      "for generation 4; the operator has not acted on generation 5 (the last spec edit) yet",
    );
  });

  it("names what the workloads of a namespace could not be read for", () => {
    const view = migrationView(progressingMigration());
    const workloads = new Map([
      ["shop-orders", "list /api/v1/namespaces/shop-orders/pods: HTTP 403: forbidden"],
    ]);
    const text = renderTree({ migration: view, workloads, now: NOW, color: false, width: 100 });
    expect(text).toContain(
      "│    workloads unknown: list /api/v1/namespaces/shop-orders/pods: HTTP 403: forbidden",
    );
  });
});
