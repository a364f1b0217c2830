// HostNetworkWorkload and NoServiceAccountToken: workloads the target mesh will not take.
// Every sidecar injector and istio-cni skip host-network pods; Linkerd's injector also skips
// pods whose service-account token is not mounted (the proxy needs it for its identity).
import type { MigrationWarning } from "../api/schema.ts";
import { templateOptsOutOf } from "../meshes/registry.ts";
import { listNames, movingNamespaces } from "./boundary.ts";
import { describeMeshRef, workloadName } from "./describe.ts";
import type { PreflightInput, PreflightWorkload } from "./input.ts";

interface Rule {
  code: string;
  applies: (input: PreflightInput) => boolean;
  matches: (workload: PreflightWorkload) => boolean;
  message: (input: PreflightInput, namespace: string, workloads: string[]) => string;
}

const RULES: Rule[] = [
  {
    code: "HostNetworkWorkload",
    applies: (input) => input.target.mesh !== "none",
    matches: (workload) => workload.hostNetwork,
    message: (input, namespace, workloads) => {
      const target = describeMeshRef(input.target);
      return (
        `${listNames(workloads)} in namespace ${namespace} use${workloads.length === 1 ? "s" : ""} hostNetwork: ` +
        `${target} never meshes host-network pods, so they stay outside the mesh after the move (the operator ` +
        `does not expect them on ${target}). Their calls to ${target} workloads are plaintext and policies that ` +
        "require mTLS refuse them. Fix: drop hostNetwork if the workload does not need it, or allow its traffic " +
        "explicitly (by IP or network) on the workloads it calls."
      );
    },
  },
  {
    code: "NoServiceAccountToken",
    applies: (input) => input.target.mesh === "linkerd",
    matches: (workload) => workload.automountServiceAccountToken === false,
    message: (_input, namespace, workloads) =>
      `${listNames(workloads)} in namespace ${namespace} set${workloads.length === 1 ? "s" : ""} ` +
      "automountServiceAccountToken: false on the pod template: Linkerd's injector skips such pods (the proxy " +
      "needs the token for its identity), so after the restart they come up without linkerd-proxy, the operator " +
      "cannot verify them on linkerd and halts the migration (VerificationFailed). Fix: remove " +
      "automountServiceAccountToken: false from the pod template (or set it to true) before the migration, or " +
      'opt the workload out with the pod-template annotation linkerd.io/inject: "disabled".',
  },
];

export function uninjectableWorkloadWarnings(input: PreflightInput): MigrationWarning[] {
  return RULES.filter((rule) => rule.applies(input)).flatMap((rule) =>
    movingNamespaces(input).flatMap(({ name }) => {
      const matching = input
        .workloadsIn(name)
        .filter(
          (workload) =>
            rule.matches(workload) &&
            // One that opts out of the target on purpose is not expected there: nothing to warn about.
            !templateOptsOutOf(workload.template, input.target.mesh),
        )
        .map(workloadName);
      if (matching.length === 0) return [];
      return [
        {
          code: rule.code,
          severity: "Warning" as const,
          namespace: name,
          message: rule.message(input, name, matching),
        },
      ];
    }),
  );
}
