// Specs nobody imagined: parseSpec never throws, and every rejection names a field path.
// (The same specs are held against the real apiserver's CRD schema and CEL rules in
// test/e2e/spec-fuzz.test.ts.)
import { describe, expect, it } from "vitest";
import { parseSpec } from "../../../src/api/schema.ts";
import { fuzzSpec } from "../../sim/spec-fuzz.ts";

const SPECS = Number(process.env.MMO_FUZZ_SPECS ?? 10_000);

describe("fuzzed specs", () => {
  it(`parses ${SPECS} generated specs without throwing, each accepted or rejected with field paths`, () => {
    let accepted = 0;
    const thrown: string[] = [];
    const unnamed: string[] = [];
    for (let seed = 1; seed <= SPECS; seed++) {
      const spec = fuzzSpec(seed);
      try {
        const parsed = parseSpec(spec);
        if (parsed.ok) accepted++;
        else if (parsed.errors.some((e) => !e.startsWith("spec")))
          unnamed.push(`seed ${seed}: ${parsed.errors}`);
      } catch (error) {
        thrown.push(`seed ${seed}: ${String(error)}`);
      }
    }
    console.log(
      `${SPECS} specs: ${accepted} accepted, ${SPECS - accepted - thrown.length} rejected, ${thrown.length} threw`,
    );
    expect(thrown).toEqual([]);
    expect(unnamed).toEqual([]);
    // Both paths are taken: a fuzzer that only produces garbage proves little.
    expect(accepted).toBeGreaterThan(SPECS / 20);
    expect(accepted).toBeLessThan(SPECS);
  });
});
