// The namespace planners as the migration planner calls them: the spec, the facts and the clock
// bound once, so each step asks only "this namespace: may it start?".
import { OWNER_ANNOTATION } from "../bookkeeping.ts";
import { parseDurationMs } from "../duration.ts";
import { planNamespaceForward } from "../namespace/forward.ts";
import { planNamespaceRollback } from "../namespace/rollback.ts";
import type { NamespacePlan } from "../namespace/types.ts";
import type { MigrationPlanInput } from "./types.ts";

export interface NamespacePlanners {
  /** The forward plan of a namespace (undefined: it does not exist); mayStart false only observes. */
  forward(namespace: string, mayStart: boolean): NamespacePlan | undefined;
  /** The rollback plan of a namespace (undefined: it does not exist). */
  rollback(namespace: string, mayStart: boolean): NamespacePlan | undefined;
  /** Whether this migration has recorded the namespace as its own. */
  ownedByUs(namespace: string): boolean;
}

export function namespacePlanners(input: MigrationPlanInput): NamespacePlanners {
  const { spec, name } = input;
  const common = {
    migration: name,
    source: spec.source,
    target: spec.target,
    waypoint: spec.target.waypoint,
    maxConcurrentRollouts: spec.strategy.maxConcurrentRollouts,
    rolloutTimeoutMs: parseDurationMs(spec.strategy.rolloutTimeout),
    now: input.now.getTime(),
  };
  const facts = (namespace: string) => {
    const ns = input.namespaces.get(namespace);
    if (!ns) return undefined;
    const gateways = input.gatewaysIn?.(namespace) ?? [];
    return { ns, workloads: input.workloadsIn(namespace), pods: input.podsIn(namespace), gateways };
  };
  return {
    forward: (namespace, mayStart) => {
      const found = facts(namespace);
      if (!found) return undefined;
      return planNamespaceForward({
        ...common,
        ...found,
        workloadOverrides: spec.strategy.workloadOverrides,
        targetControlPlane: input.targetControlPlane,
        mayStart,
      });
    },
    rollback: (namespace, mayStart) => {
      const found = facts(namespace);
      if (!found) return undefined;
      return planNamespaceRollback({
        ...common,
        ...found,
        sourceControlPlane: input.sourceControlPlane ?? { ready: true, problems: [] },
        mayStart,
      });
    },
    ownedByUs: (namespace) => input.namespaces.get(namespace)?.markers.annotations[OWNER_ANNOTATION] === name,
  };
}
