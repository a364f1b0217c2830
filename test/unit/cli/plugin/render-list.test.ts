// What `kubectl meshmigration list` prints, compared with a reviewed snapshot: one line per
// migration with the direction it moves in, so a rollback never reads like the forward move.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { migrationView } from "../../../../src/cli/plugin/migration-view.ts";
import { renderList } from "../../../../src/cli/plugin/render-list.ts";
import { stripAnsi } from "../../../../src/cli/plugin/style.ts";
import {
  NOW,
  pausedMigration,
  progressingMigration,
  rolledBackMigration,
  unhandledMigration,
} from "./fixtures.ts";

const migrations = () =>
  [
    progressingMigration(),
    rolledBackMigration(),
    pausedMigration(),
    {
      ...unhandledMigration(),
      metadata: { name: "payments-onboarding", creationTimestamp: "2026-12-02T10:12:30Z" },
    },
  ].map(migrationView);

describe("list", () => {
  it("prints one line per migration, by name, as the reviewed snapshot", () => {
    const expected = readFileSync(new URL("snapshots/list.txt", import.meta.url), "utf8");
    expect(renderList(migrations(), NOW, false)).toBe(expected);
  });

  it("colours only the phase on a terminal", () => {
    const colored = renderList(migrations(), NOW, true);
    expect(stripAnsi(colored)).toBe(renderList(migrations(), NOW, false));
  });

  it("says how to create one when there is none", () => {
    expect(renderList([], NOW, false)).toContain("No MeshMigrations found");
  });
});
