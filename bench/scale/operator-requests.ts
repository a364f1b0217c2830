// The operator's own requests, from the apiserver's audit log (the local cluster records its
// ServiceAccount's requests, test/cluster/audit-policy.yaml): exact per window, where
// apiserver_request_total mixes in every client (kube-controller-manager, kwok, the injectors).
import { readFileSync } from "node:fs";
import { type AuditEvent, parseAuditLog } from "../../scripts/rbac/evidence.ts";
import type { RequestCounts } from "./apiserver-requests.ts";

export const OPERATOR_USER = "system:serviceaccount:mesh-migration-system:mesh-migration-operator";

/** One request per auditID received in [from, to), counted as "LIST pods", "PATCH namespaces", … */
export function operatorRequests(auditLog: string, from: number, to: number): RequestCounts {
  const requests = new Map<string, AuditEvent>();
  for (const event of parseAuditLog(readFileSync(auditLog, "utf8"))) {
    const at = Date.parse(event.requestReceivedTimestamp ?? "");
    if (event.user?.username !== OPERATOR_USER || at < from || at >= to) continue;
    requests.set(event.auditID, event);
  }
  const counts: RequestCounts = new Map();
  for (const event of requests.values()) {
    const ref = event.objectRef;
    const resource = ref?.subresource
      ? `${ref.resource}/${ref.subresource}`
      : (ref?.resource ?? event.requestURI);
    const key = `${event.verb.toUpperCase()} ${resource}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}
