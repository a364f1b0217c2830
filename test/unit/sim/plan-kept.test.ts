// The plan's promise, held on generated clusters: what the dry run publishes in status.plan is,
// write for write, what the operator then does (see test/sim/plan-kept.ts for what is compared).
import { describe, expect, it } from "vitest";
import { checkPlanKept } from "../../sim/plan-kept.ts";
import { generateScenario } from "../../sim/scenarios.ts";

const CLUSTERS = Number(process.env.MMO_SIM_CLUSTERS ?? 500);
const FIRST_SEED = Number(process.env.MMO_SIM_SEED ?? 1);

describe("simulation: the plan is what the operator does", () => {
  it(`holds on ${CLUSTERS} generated clusters and specs`, async () => {
    const results = [];
    for (let seed = FIRST_SEED; seed < FIRST_SEED + CLUSTERS; seed++) {
      results.push(await checkPlanKept(generateScenario(seed)));
    }
    const surprising = results.filter((r) => r.surprises.length > 0);
    const writes = results.reduce((sum, r) => sum + r.writes, 0);
    const blocked = results.filter((r) => r.blocked).length;
    const count = (values: string[]) => {
      const counts = new Map<string, number>();
      for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
      return [...counts]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([value, n]) => `${n} ${value}`)
        .join(", ");
    };
    console.log(
      `${results.length} clusters, ${results.length - surprising.length} plans kept, ` +
        `${surprising.reduce((sum, r) => sum + r.surprises.length, 0)} surprises ` +
        `(${writes} writes compared; ${blocked} blocked plans; ends: ${count(results.map((r) => r.phase ?? "none"))}; ` +
        `blockers: ${count(results.flatMap((r) => r.blockers))})`,
    );
    for (const r of surprising.slice(0, 5)) console.log(`seed ${r.seed}:\n  ${r.surprises.join("\n  ")}`);
    expect(surprising.map((r) => ({ seed: r.seed, surprises: r.surprises }))).toEqual([]);
  }, 600_000);
});
