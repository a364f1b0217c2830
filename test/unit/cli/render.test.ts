// The plan CLI's table: one row per namespace, and one for a batch that matches none, so the
// table shows every batch the summary counts.
import { describe, expect, it } from "vitest";
import type { MigrationOutline } from "../../../src/api/schema.ts";
import { type MeshMigrationSpec, parseSpec } from "../../../src/api/schema.ts";
import { renderTable } from "../../../src/cli/render.ts";

const parsed = parseSpec({
  source: { mesh: "istio" },
  target: { mesh: "linkerd" },
  batches: [
    { name: "canary", namespaces: ["shop"] },
    { name: "nobody", namespaceSelector: { matchLabels: { team: "nobody" } } },
  ],
});
if (!parsed.ok) throw new Error(parsed.errors.join("; "));
const spec: MeshMigrationSpec = parsed.spec;

const outline: MigrationOutline = {
  source: "istio",
  target: "linkerd",
  blocked: false,
  summary: "istio → linkerd: 1 namespace in 2 batches.",
  batches: [
    {
      name: "canary",
      held: false,
      namespaces: [
        {
          name: "shop",
          exists: true,
          meshes: ["istio"],
          changes: [],
          templateRewrites: [],
          restartWaves: [],
          notRestarted: [],
          unmanagedPods: [],
        },
      ],
    },
    { name: "nobody", held: false, namespaces: [] },
  ],
  blockers: [],
  warnings: [],
};

describe("the plan table", () => {
  it("has a row for a batch whose selector matches no namespace", () => {
    const text = renderTable(outline, { migration: "m", spec });
    const rows = text.split("\n").filter((line) => /^(canary|nobody)\b/.test(line));
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatch(/^nobody\s+\(no namespace matches\)/);
  });
});
