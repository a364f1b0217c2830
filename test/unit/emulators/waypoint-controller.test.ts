// The emulated waypoint controller makes what istiod's gateway deployment controller makes for a
// waypoint (istio.io/istio pilot/pkg/config/kube/gatewaycommon/testdata/deployment/waypoint.yaml at
// the pinned Istio version): the same names, owner, labels and opt-outs, so the operator meets the
// waypoint Deployment as it would meet istiod's.
import type * as k8s from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { waypointObjects } from "../../emulators/waypoint-controller.ts";

const gateway = {
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "Gateway",
  metadata: { name: "waypoint", namespace: "shop", uid: "u-1" },
  spec: { gatewayClassName: "istio-waypoint" },
};

describe("the emulated waypoint controller", () => {
  const objects = waypointObjects(gateway);
  const find = (kind: string) => objects.find((o) => o.kind === kind);
  const deployment = find("Deployment") as k8s.V1Deployment;
  const service = find("Service") as k8s.V1Service;

  it("makes a ServiceAccount, Deployment and Service of the Gateway's name, owned by it", () => {
    expect(objects.map((o) => o.kind)).toEqual(["ServiceAccount", "Deployment", "Service"]);
    for (const object of objects) {
      expect(object.metadata).toMatchObject({ name: "waypoint", namespace: "shop" });
      expect(object.metadata?.ownerReferences).toEqual([
        { apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway", name: "waypoint", uid: "u-1" },
      ]);
    }
  });

  it("labels them as istiod does, and keeps the waypoint's own pods out of every mesh", () => {
    expect(deployment.metadata?.labels).toEqual({
      "gateway.istio.io/managed": "istio.io-mesh-controller",
      "gateway.networking.k8s.io/gateway-class-name": "istio-waypoint",
      "gateway.networking.k8s.io/gateway-name": "waypoint",
    });
    expect(deployment.spec?.template.metadata?.labels).toMatchObject({
      "istio.io/dataplane-mode": "none",
      "sidecar.istio.io/inject": "false",
    });
    expect(deployment.spec?.template.spec?.containers[0]?.args?.slice(0, 2)).toEqual(["proxy", "waypoint"]);
    expect(service.spec?.ports).toEqual([{ name: "mesh", port: 15008, protocol: "TCP", appProtocol: "all" }]);
  });
});
