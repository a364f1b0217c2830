// The objects that make the emulated meshes look installed.
import type { V1DaemonSet, V1Deployment } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { controlPlaneObjects } from "../../emulators/control-planes.ts";
import { injectorShouldServe } from "../../emulators/injector-availability.ts";

describe("control-plane objects", () => {
  const objects = controlPlaneObjects(["1-24"]);
  const ids = objects.map((o) => `${o.kind}/${o.metadata?.namespace ?? ""}/${o.metadata?.name}`);

  it("installs both meshes' control planes and ambient's DaemonSets", () => {
    expect(ids).toEqual(
      expect.arrayContaining([
        "Namespace//istio-system",
        "Namespace//linkerd",
        "Deployment/istio-system/istiod",
        "Deployment/istio-system/istiod-1-24",
        "DaemonSet/istio-system/ztunnel",
        "DaemonSet/istio-system/istio-cni-node",
        "Deployment/linkerd/linkerd-destination",
        "Deployment/linkerd/linkerd-identity",
        "Deployment/linkerd/linkerd-proxy-injector",
      ]),
    );
  });

  it("creates only the default istiod without extra revisions", () => {
    const istiods = controlPlaneObjects([]).filter((o) => o.metadata?.name?.startsWith("istiod"));
    expect(istiods.map((o) => o.metadata?.name)).toEqual(["istiod"]);
  });

  it("runs one replica of each Deployment, tolerating any taint, with selectors matching the pods", () => {
    for (const object of objects.filter((o) => o.kind === "Deployment" || o.kind === "DaemonSet")) {
      const workload = object as V1Deployment | V1DaemonSet;
      if (object.kind === "Deployment") expect((workload as V1Deployment).spec?.replicas).toBe(1);
      expect(workload.spec?.template.spec?.tolerations).toEqual([{ operator: "Exists" }]);
      expect(workload.spec?.template.metadata?.labels).toMatchObject(
        workload.spec?.selector.matchLabels ?? {},
      );
    }
  });

  it("labels istiod per revision", () => {
    const istiod = objects.find((o) => o.metadata?.name === "istiod-1-24") as V1Deployment;
    expect(istiod.spec?.template.metadata?.labels).toMatchObject({ app: "istiod", "istio.io/rev": "1-24" });
  });
});

describe("injectorShouldServe", () => {
  it.each([
    [undefined, false],
    [{ spec: { replicas: 0 } }, false],
    [{ spec: { replicas: 1 } }, true],
    [{ spec: {} }, true],
    [{ metadata: { deletionTimestamp: new Date() }, spec: { replicas: 1 } }, false],
  ] as Array<[V1Deployment | undefined, boolean]>)("%j → %s", (deployment, up) => {
    expect(injectorShouldServe(deployment)).toBe(up);
  });
});
