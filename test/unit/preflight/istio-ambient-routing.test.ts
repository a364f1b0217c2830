// The ambient preflight's routing findings: VirtualService HTTP routes and DestinationRule subsets
// for the Services of a namespace moving into istio-ambient.
import { describe, expect, it } from "vitest";
import { istioAmbientRoutingWarnings } from "../../../src/preflight/istio-ambient-routing.ts";
import { hostNamespace } from "../../../src/preflight/istio-routing-objects.ts";
import { ambientInput, destinationRule, gateway, virtualService } from "./ambient-builders.ts";
import { ISTIO_NS } from "./builders.ts";

const reviews = (namespace: string, host: string, spec: Record<string, unknown> = {}) =>
  virtualService(namespace, "reviews", {
    hosts: [host],
    http: [{ name: "v2-canary", route: [{ destination: { host, subset: "v2" }, weight: 10 }] }],
    ...spec,
  });

describe("VirtualService", () => {
  it("warns about HTTP routes for the moving namespace's Services, and says to convert them to HTTPRoute", () => {
    const warnings = istioAmbientRoutingWarnings(
      ambientInput({ policies: { virtualServices: [reviews("shop", "reviews")] } }),
    );
    expect(warnings).toEqual([
      {
        code: "IstioAmbientVirtualService",
        severity: "Warning",
        namespace: "shop",
        message: expect.stringContaining(
          "VirtualService shop/reviews routes HTTP (1 HTTP route) for reviews, Services of namespace shop",
        ),
      },
    ]);
    expect(warnings[0]?.message).toContain("shop will have no waypoint");
    expect(warnings[0]?.message).toContain("give shop a waypoint (spec.target.waypoint");
    expect(warnings[0]?.message).toContain("convert it to an HTTPRoute whose parentRefs name the Service");
  });

  it("says the waypoint takes VirtualService as Alpha only when the namespace will have one", () => {
    const warnings = istioAmbientRoutingWarnings(
      ambientInput({
        namespaces: {
          shop: { ...ISTIO_NS, labels: { ...ISTIO_NS.labels, "istio.io/use-waypoint": "waypoint" } },
        },
        policies: {
          virtualServices: [reviews("billing", "reviews.shop.svc.cluster.local")],
          gateways: [gateway("shop", "waypoint")],
        },
      }),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.namespace).toBe("shop");
    expect(warnings[0]?.message).toContain(
      "the waypoint waypoint of namespace shop (namespace label istio.io/use-waypoint) applies a VirtualService only as an Alpha feature",
    );
  });

  it("leaves alone routes bound to ingress gateways only, routes for other namespaces, and TCP-only services", () => {
    const virtualServices = [
      reviews("shop", "reviews", { gateways: ["istio-ingress/public"] }),
      reviews("shop", "ledger.billing.svc.cluster.local"),
      reviews("shop", "api.example.com"),
      virtualService("shop", "tcp", { hosts: ["db"], tcp: [{ route: [{ destination: { host: "db" } }] }] }),
    ];
    expect(istioAmbientRoutingWarnings(ambientInput({ policies: { virtualServices } }))).toEqual([]);
  });

  it("resolves hosts as Istio does: short names in the object's namespace, FQDNs and wildcards by theirs", () => {
    expect(hostNamespace("reviews", "shop")).toBe("shop");
    expect(hostNamespace("reviews.shop.svc.cluster.local", "billing")).toBe("shop");
    expect(hostNamespace("*.shop.svc.cluster.local", "billing")).toBe("shop");
    expect(hostNamespace("reviews.shop.svc", "billing")).toBe("shop");
    expect(hostNamespace("*", "shop")).toBeUndefined();
    expect(hostNamespace("api.example.com", "shop")).toBeUndefined();
  });
});

describe("DestinationRule", () => {
  it("warns about subsets of the moving namespace's Services, which HTTPRoute cannot route to", () => {
    const warnings = istioAmbientRoutingWarnings(
      ambientInput({
        policies: {
          destinationRules: [
            destinationRule("shop", "reviews", {
              host: "reviews",
              trafficPolicy: { connectionPool: { tcp: { maxConnections: 100 } } },
              subsets: [
                { name: "v1", labels: { version: "v1" } },
                { name: "v2", labels: { version: "v2" } },
              ],
            }),
            destinationRule("shop", "pool-only", {
              host: "api",
              trafficPolicy: { tls: { mode: "ISTIO_MUTUAL" } },
            }),
            destinationRule("billing", "ledger", { host: "ledger", subsets: [{ name: "v1" }] }),
          ],
        },
      }),
    );
    expect(warnings).toEqual([
      {
        code: "IstioAmbientDestinationRuleSubsets",
        severity: "Warning",
        namespace: "shop",
        message: expect.stringContaining("DestinationRule shop/reviews defines subsets (v1, v2) of reviews"),
      },
    ]);
    expect(warnings[0]?.message).toContain("create one Service per subset");
  });
});
