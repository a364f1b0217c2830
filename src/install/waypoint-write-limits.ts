// The write limit on Gateways: RBAC lets the operator create and delete Gateways in any namespace
// (a waypoint's name comes from each MeshMigration's spec, so resourceNames cannot narrow it).
// This policy holds its ServiceAccount to what spec.target.waypoint.create needs: it may create
// only a waypoint (gatewayClassName istio-waypoint, the one HBONE listener istioctl makes, nothing
// that provisions other infrastructure) marked with its owner annotation, and delete only a
// Gateway carrying that annotation. A stolen token cannot open an ingress or remove a user's.
import type * as k8s from "@kubernetes/client-node";
import { ANNOTATIONS } from "../api/constants.ts";

const OWNER = ANNOTATIONS.owner;

function ownerMarked(root: "object" | "oldObject"): string {
  return `has(${root}.metadata.annotations) && '${OWNER}' in ${root}.metadata.annotations`;
}

const ONLY_A_WAYPOINT = [
  "object.spec.gatewayClassName == 'istio-waypoint'",
  "size(object.spec.listeners) == 1",
  "object.spec.listeners[0].name == 'mesh'",
  "object.spec.listeners[0].port == 15008",
  "object.spec.listeners[0].protocol == 'HBONE'",
  "!has(object.spec.addresses)",
  "!has(object.spec.infrastructure)",
].join(" && ");

/** The policy and the validations it makes; name and match condition come from write-limits.ts. */
export function gatewayLimitSpec(username: string, who: string): k8s.V1ValidatingAdmissionPolicySpec {
  return {
    failurePolicy: "Fail",
    matchConstraints: {
      resourceRules: [
        {
          apiGroups: ["gateway.networking.k8s.io"],
          apiVersions: ["*"],
          operations: ["CREATE", "DELETE"],
          resources: ["gateways"],
        },
      ],
    },
    matchConditions: [
      { name: "operator-service-account", expression: `request.userInfo.username == '${username}'` },
    ],
    validations: [
      {
        expression: `request.operation != 'CREATE' || (${ONLY_A_WAYPOINT} && ${ownerMarked("object")})`,
        reason: "Forbidden",
        message:
          `${who} may create only a waypoint Gateway (gatewayClassName istio-waypoint, one HBONE listener mesh on ` +
          `port 15008) that carries its ${OWNER} annotation`,
      },
      {
        expression: `request.operation != 'DELETE' || (${ownerMarked("oldObject")})`,
        reason: "Forbidden",
        message: `${who} may delete only a Gateway that carries its ${OWNER} annotation (one it created)`,
      },
    ],
  };
}
