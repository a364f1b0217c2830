// How an Istio configuration object attaches to workloads, and which workloads of the moving
// namespaces it reaches. Istio's rules: a workload selector picks pods by label in the object's
// namespace (in the root namespace: in every namespace); no selector means every workload of the
// namespace (in the root namespace: the whole mesh); targetRefs attach it to a Gateway (a
// waypoint), a Service or a GatewayClass instead, which only waypoints and gateways read.
import { z } from "zod";
import { matchesSelector } from "../api/label-selector.ts";
import { templateOptsOutOf } from "../meshes/registry.ts";
import { listNames, movingNamespaces } from "./boundary.ts";
import { workloadName } from "./describe.ts";
import type { PreflightInput, PreflightWorkload } from "./input.ts";
import { DEFAULT_ISTIO_ROOT_NAMESPACE } from "./istio-strict-mtls.ts";
import type { ObjectName } from "./policy-objects.ts";

export interface TargetRef {
  group: string;
  kind: string;
  name: string;
}

export type Attachment =
  | { scope: "selector"; labels: Record<string, string> }
  | { scope: "namespace" }
  | { scope: "targetRefs"; refs: TargetRef[] };

export const metadataSchema = z.looseObject({
  name: z.string().min(1),
  namespace: z.string().default(""),
});

const targetRefSchema = z.looseObject({
  group: z.string().default(""),
  kind: z.string(),
  name: z.string(),
});

/** The fields every attachable object has: a selector (under one name or another) and targetRef(s). */
export const attachmentFields = {
  selector: z.looseObject({ matchLabels: z.record(z.string(), z.string()).optional() }).optional(),
  targetRef: targetRefSchema.optional(),
  targetRefs: z.array(targetRefSchema).optional(),
};

/** targetRefs win over a selector (Istio rejects objects that set both; we read them as attached). */
export function attachmentOf(
  selectorLabels: Record<string, string> | undefined,
  refs: { targetRef?: TargetRef | undefined; targetRefs?: TargetRef[] | undefined },
): Attachment {
  const targets = [...(refs.targetRefs ?? []), ...(refs.targetRef ? [refs.targetRef] : [])];
  if (targets.length > 0) return { scope: "targetRefs", refs: targets };
  if (selectorLabels && Object.keys(selectorLabels).length > 0)
    return { scope: "selector", labels: selectorLabels };
  return { scope: "namespace" };
}

export interface AttachedObject extends ObjectName {
  attachment: Attachment;
}

export function istioRootNamespace(input: PreflightInput): string {
  return input.istioRootNamespace ?? DEFAULT_ISTIO_ROOT_NAMESPACE;
}

/** Whether the object reaches beyond its own namespace: it sits in Istio's root namespace. */
export function meshWide(input: PreflightInput, object: ObjectName): boolean {
  return object.namespace === istioRootNamespace(input);
}

/** Workloads ztunnel will capture: not on the host network, not opted out of ambient on the pod template. */
function capturedByAmbient(workload: PreflightWorkload): boolean {
  return !workload.hostNetwork && !templateOptsOutOf(workload.template, "istio-ambient");
}

export interface Reach {
  namespace: string;
  /** The workloads it selects there, as kind/name; every captured workload for a namespace-wide object. */
  workloads: string[];
}

/**
 * The moving namespaces whose workloads a selector-based or namespace-wide object applies to,
 * with those workloads; nothing for objects attached by targetRefs (waypoints read those).
 */
export function reachInMovingNamespaces(input: PreflightInput, object: AttachedObject): Reach[] {
  const { attachment } = object;
  if (attachment.scope === "targetRefs") return [];
  const everywhere = meshWide(input, object);
  return movingNamespaces(input).flatMap(({ name }) => {
    if (!everywhere && name !== object.namespace) return [];
    const workloads = input
      .workloadsIn(name)
      .filter(capturedByAmbient)
      .filter(
        (w) =>
          attachment.scope === "namespace" ||
          matchesSelector(w.template.labels, { matchLabels: attachment.labels }),
      )
      .map(workloadName);
    return workloads.length > 0 ? [{ namespace: name, workloads }] : [];
  });
}

/** "deployment/web in namespace shop", "every workload of namespaces a, b", for messages. */
export function describeReach(attachment: Attachment, reach: readonly Reach[]): string {
  if (attachment.scope === "namespace") {
    const names = reach.map((r) => r.namespace);
    return `every workload of namespace${names.length === 1 ? "" : "s"} ${listNames(names)}`;
  }
  return reach.map((r) => `${listNames(r.workloads)} in namespace ${r.namespace}`).join("; ");
}
