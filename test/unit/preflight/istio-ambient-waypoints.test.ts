// The ambient preflight's waypoint findings: a spec.target.waypoint that must exist, use-waypoint
// labels naming no waypoint, and targetRefs that no waypoint will enforce (istio/istio#57315).
import { describe, expect, it } from "vitest";
import { istioAmbientL7Warnings } from "../../../src/preflight/istio-ambient-l7.ts";
import { istioAmbientWaypointWarnings } from "../../../src/preflight/istio-ambient-waypoints.ts";
import {
  ambientInput,
  gateway,
  onlyGet,
  requestAuthentication,
  service,
  serviceRef,
  waypointRef,
} from "./ambient-builders.ts";
import { ISTIO_NS } from "./builders.ts";

const USE_WAYPOINT = "istio.io/use-waypoint";
const shopUsing = (waypoint: string) => ({
  shop: { ...ISTIO_NS, labels: { ...ISTIO_NS.labels, [USE_WAYPOINT]: waypoint } },
});

describe("spec.target.waypoint", () => {
  it("blocks each moving namespace without the waypoint it names, unless the operator creates it", () => {
    const input = (create: boolean | undefined, gateways: unknown[] = []) =>
      ambientInput({
        moving: ["shop", "cart"],
        namespaces: { shop: ISTIO_NS, cart: ISTIO_NS },
        waypoint: { name: "waypoint", create },
        policies: { gateways },
      });
    const warnings = istioAmbientWaypointWarnings(input(undefined, [gateway("shop", "waypoint")]));
    expect(warnings).toEqual([
      {
        code: "IstioWaypointMissing",
        severity: "Blocking",
        namespace: "cart",
        message: expect.stringContaining(
          "spec.target.waypoint names waypoint, which must already exist in every moved namespace, but namespace " +
            "cart has no Gateway waypoint",
        ),
      },
    ]);
    expect(warnings[0]?.message).toContain("or set spec.target.waypoint.create: true");
    expect(istioAmbientWaypointWarnings(input(true))).toEqual([]);
  });

  it("does not take a Gateway of another class for the waypoint", () => {
    const warnings = istioAmbientWaypointWarnings(
      ambientInput({
        waypoint: { name: "public" },
        policies: { gateways: [gateway("shop", "public", "istio")] },
      }),
    );
    expect(warnings[0]?.message).toContain(
      "Gateway shop/public is of gatewayClassName istio, not istio-waypoint",
    );
  });
});

describe("istio.io/use-waypoint labels", () => {
  it("warns when the namespace or a Service names a waypoint that does not exist", () => {
    const warnings = istioAmbientWaypointWarnings(
      ambientInput({
        namespaces: shopUsing("waypoint"),
        policies: { services: [service("shop", "web", { [USE_WAYPOINT]: "web-waypoint" })] },
      }),
    );
    expect(warnings).toEqual([
      {
        code: "IstioUseWaypointMissing",
        severity: "Warning",
        namespace: "shop",
        message: expect.stringContaining(
          "namespace shop (istio.io/use-waypoint=waypoint), Service web (istio.io/use-waypoint=web-waypoint) name a " +
            "waypoint that does not exist",
        ),
      },
    ]);
  });

  it("finds a waypoint in another namespace through istio.io/use-waypoint-namespace", () => {
    const namespaces = {
      shop: {
        ...ISTIO_NS,
        labels: {
          ...ISTIO_NS.labels,
          [USE_WAYPOINT]: "shared",
          "istio.io/use-waypoint-namespace": "mesh-infra",
        },
      },
    };
    const input = ambientInput({ namespaces, policies: { gateways: [gateway("mesh-infra", "shared")] } });
    expect(istioAmbientWaypointWarnings(input)).toEqual([]);
  });
});

describe("targetRefs", () => {
  it("blocks an AuthorizationPolicy attached to a waypoint that does not exist: nothing would enforce it", () => {
    const warnings = istioAmbientWaypointWarnings(
      ambientInput({
        policies: { istioAuthorizationPolicies: [onlyGet("shop", "only-get", waypointRef("waypoint"))] },
      }),
    );
    expect(warnings).toEqual([
      {
        code: "IstioWaypointTargetMissing",
        severity: "Blocking",
        namespace: "shop",
        message: expect.stringContaining(
          "AuthorizationPolicy shop/only-get is attached (targetRefs) to Gateway waypoint, which does not exist in " +
            "namespace shop. Once namespace shop is in istio-ambient nothing enforces it",
        ),
      },
    ]);
    expect(warnings[0]?.message).toContain("what it should refuse gets through (as in istio/istio#57315)");
  });

  it("is satisfied by the waypoint the namespace uses, or the one the migration creates", () => {
    const policies = { istioAuthorizationPolicies: [onlyGet("shop", "only-get", waypointRef("waypoint"))] };
    const labelled = ambientInput({
      namespaces: shopUsing("waypoint"),
      policies: { ...policies, gateways: [gateway("shop", "waypoint")] },
    });
    const created = ambientInput({ waypoint: { name: "waypoint", create: true }, policies });
    expect(istioAmbientWaypointWarnings(labelled)).toEqual([]);
    expect(istioAmbientWaypointWarnings(created)).toEqual([]);
    // Attached to the waypoint, the policy is for the waypoint to enforce: no L7 finding either.
    expect(istioAmbientL7Warnings(labelled)).toEqual([]);
  });

  it("warns about a waypoint nobody uses and a Service without one, and leaves ingress gateways alone", () => {
    const warnings = istioAmbientWaypointWarnings(
      ambientInput({
        policies: {
          gateways: [gateway("shop", "idle"), gateway("shop", "public", "istio")],
          services: [service("shop", "web"), service("shop", "api", { [USE_WAYPOINT]: "idle" })],
          requestAuthentications: [
            requestAuthentication("shop", "jwt", {
              targetRefs: [
                { kind: "Gateway", group: "gateway.networking.k8s.io", name: "public" },
                { kind: "Service", group: "", name: "web" },
              ],
            }),
          ],
          istioAuthorizationPolicies: [
            onlyGet("shop", "api-only-get", serviceRef("api")),
            onlyGet("shop", "web-only-get", serviceRef("web")),
          ],
        },
      }),
    );
    expect(warnings.map((w) => [w.severity, w.message.split(". Once")[0]])).toEqual([
      [
        "Blocking",
        "AuthorizationPolicy shop/web-only-get is attached (targetRefs) to Service web, which will have no waypoint " +
          "(neither it nor namespace shop is labelled istio.io/use-waypoint with an existing one)",
      ],
      [
        "Warning",
        "RequestAuthentication shop/jwt is attached (targetRefs) to Service web, which will have no waypoint " +
          "(neither it nor namespace shop is labelled istio.io/use-waypoint with an existing one)",
      ],
    ]);
  });

  it("reports a waypoint the namespace does not route through", () => {
    const warnings = istioAmbientWaypointWarnings(
      ambientInput({
        namespaces: shopUsing("waypoint"),
        policies: {
          gateways: [gateway("shop", "waypoint"), gateway("shop", "old")],
          istioAuthorizationPolicies: [onlyGet("shop", "only-get", waypointRef("old"))],
        },
      }),
    );
    expect(warnings.map((w) => w.message.split(". Once")[0])).toEqual([
      "AuthorizationPolicy shop/only-get is attached (targetRefs) to waypoint old, which neither namespace shop nor " +
        "any of its Services uses (istio.io/use-waypoint)",
    ]);
  });
});
