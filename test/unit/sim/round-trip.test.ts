// Migrate then roll back (then delete) is the identity, on generated namespaces: labels,
// annotations, opt-ins, revisions, stray markers, user edits in between; a MeshMigration deleted
// mid-migration leaves each namespace as it was or migrated, never between (test/sim/round-trip.ts).
import { describe, expect, it } from "vitest";
import { roundTrip } from "../../sim/round-trip.ts";
import { generateScenario } from "../../sim/scenarios.ts";

const NAMESPACES = Number(process.env.MMO_ROUND_TRIP_NAMESPACES ?? 1000);
const FIRST_SEED = Number(process.env.MMO_SIM_SEED ?? 10_001);

describe("property: migrate, then roll back, is the identity", () => {
  it(`holds on at least ${NAMESPACES} generated namespaces`, async () => {
    const results = [];
    let namespaces = 0;
    for (let seed = FIRST_SEED; namespaces < NAMESPACES; seed++) {
      const result = await roundTrip(generateScenario(seed));
      results.push(result);
      namespaces += result.namespaces;
    }
    const differing = results.filter((r) => r.differences.length > 0);
    const deleted = results.filter((r) => r.ended === "deleted").length;
    console.log(
      `${namespaces} namespaces in ${results.length} clusters round-tripped ` +
        `(${results.length - deleted} rolled back, ${deleted} deleted mid-migration), ` +
        `${results.length - differing.length} clusters as promised, ${differing.length} differ`,
    );
    for (const r of differing.slice(0, 5))
      console.log(`seed ${r.seed}:\n  ${r.differences.slice(0, 6).join("\n  ")}`);
    expect(differing.map((r) => ({ seed: r.seed, differences: r.differences.slice(0, 6) }))).toEqual([]);
  }, 600_000);
});
