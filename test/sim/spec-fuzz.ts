// MeshMigration specs nobody imagined, from a seed: mostly near-valid, each with a few things
// wrong (wrong types, bad names and durations, duplicate or protected namespaces, empty or odd
// selectors, out-of-range limits, a gate naming no batch, one mesh on both sides...), so both
// the accepting and the rejecting paths of every rule are taken.
import { MESH_NAMES, PROTECTED_NAMESPACES } from "../../src/api/constants.ts";
import { type Random, seeded } from "./scenarios.ts";

const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const chance = (random: Random, p: number) => random() < p;

/** Mostly a valid value, now and then one that is not. */
function either<T, U = T>(
  random: Random,
  valid: readonly T[],
  invalid: readonly U[],
  pInvalid = 0.05,
): T | U {
  return chance(random, pInvalid) ? pick(random, invalid) : pick(random, valid);
}

type Choices<T> = [valid: T[], invalid: T[]];
const NAMES: Choices<string> = [
  ["shop", "web", "pay-1", "a", "orders", "ledger"],
  ["x".repeat(64), "Bad_Name", "", "-lead", "ns.dot", ...PROTECTED_NAMESPACES],
];
const BATCH_NAMES: Choices<string> = [
  ["canary", "wave-1", "b", "rest"],
  ["Wave", "", "x".repeat(64), "two words"],
];
const REVISIONS: Choices<string> = [
  ["canary", "1-24", "default"],
  ["", "bad/rev", "x".repeat(64)],
];
const DURATIONS: Choices<string> = [
  ["10m", "90s", "1h30m", "500ms", "0s"],
  ["10", "ten minutes", "-5m", "1d", "9".repeat(21)],
];
const OPERATORS: Choices<string> = [
  ["In", "NotIn", "Exists", "DoesNotExist"],
  ["Maybe", "in"],
];
const LABEL_KEYS: Choices<string> = [
  ["team", "example.com/team", "tier"],
  ["bad key", "", "a/b/c", "k".repeat(70)],
];
const LABEL_VALUES: Choices<string> = [
  ["pay", "", "ok-1"],
  ["bad value", "v".repeat(64)],
];

function meshRef(random: Random): unknown {
  if (chance(random, 0.02)) return pick(random, [null, "istio", 3, {}]);
  const mesh = chance(random, 0.03) ? pick(random, ["consul", "Istio", 1]) : pick(random, MESH_NAMES);
  const ref: Record<string, unknown> = { mesh };
  if (chance(random, mesh === "istio" ? 0.4 : 0.03)) ref.revision = either(random, ...REVISIONS);
  return ref;
}

function selector(random: Random): unknown {
  if (chance(random, 0.03)) return pick(random, [{}, [], "team=pay"]);
  const out: Record<string, unknown> = {};
  if (chance(random, 0.7))
    out.matchLabels = { [either(random, ...LABEL_KEYS)]: either(random, ...LABEL_VALUES) };
  if (chance(random, 0.4)) {
    out.matchExpressions = Array.from({ length: 1 + Math.floor(random() * 2) }, () => {
      const operator = either(random, ...OPERATORS);
      const expression: Record<string, unknown> = { key: either(random, ...LABEL_KEYS), operator };
      const wantsValues = operator === "In" || operator === "NotIn";
      if (chance(random, wantsValues ? 0.95 : 0.05)) {
        expression.values = Array.from({ length: Math.floor(random() * 2) + 1 }, () =>
          either(random, ...LABEL_VALUES),
        );
      }
      return expression;
    });
  }
  return out;
}

function batch(random: Random, index: number): unknown {
  if (chance(random, 0.01)) return pick(random, [null, "canary", 7]);
  const out: Record<string, unknown> = {};
  // Distinct names mostly; now and then a duplicate or a bad one.
  if (chance(random, 0.99)) out.name = chance(random, 0.05) ? either(random, ...BATCH_NAMES) : `b${index}`;
  if (chance(random, 0.85)) {
    out.namespaces = Array.from({ length: Math.floor(random() * 2) + 1 }, () =>
      chance(random, 0.9) ? `ns-${index}-${Math.floor(random() * 3)}` : either(random, ...NAMES, 0.3),
    );
  }
  if (chance(random, 0.25) || out.namespaces === undefined) out.namespaceSelector = selector(random);
  return out;
}

export function fuzzSpec(seed: number): Record<string, unknown> {
  const random = seeded(seed);
  const spec: Record<string, unknown> = {};
  if (chance(random, 0.99)) spec.source = meshRef(random);
  if (chance(random, 0.99)) spec.target = meshRef(random);
  if (chance(random, 0.99)) {
    spec.batches = chance(random, 0.02)
      ? pick(random, [[], {}, "all"])
      : Array.from({ length: 1 + Math.floor(random() * 3) }, (_, i) => batch(random, i));
  }
  if (chance(random, 0.5)) {
    const strategy: Record<string, unknown> = {};
    if (chance(random, 0.5))
      strategy.maxConcurrentNamespaces = either(random, [1, 2, 50], [0, -1, 51, 1.5, "2"]);
    if (chance(random, 0.5))
      strategy.maxConcurrentRollouts = either(random, [1, 5, 50], [0, 51, 2 ** 31, "5"]);
    if (chance(random, 0.5)) strategy.rolloutTimeout = either(random, ...DURATIONS);
    if (chance(random, 0.3)) strategy.workloadOverrides = either(random, ["Rewrite", "Fail"], ["rewrite", 1]);
    if (chance(random, 0.2)) strategy.blockOnWarnings = either(random, [true, false], ["yes"]);
    spec.strategy = strategy;
  }
  if (chance(random, 0.2)) spec.stopAfterBatch = chance(random, 0.8) ? "b0" : either(random, ...BATCH_NAMES);
  for (const flag of ["paused", "rollback", "dryRun"]) {
    if (chance(random, 0.2)) spec[flag] = either(random, [true, false], ["true", 0]);
  }
  return spec;
}
