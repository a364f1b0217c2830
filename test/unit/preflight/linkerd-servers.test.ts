// LinkerdServerRequiresMeshTLS: Servers that admit only Linkerd identities on the Linkerd side.
import { describe, expect, it } from "vitest";
import { linkerdServerWarnings } from "../../../src/preflight/linkerd-servers.ts";
import {
  ISTIO,
  ISTIO_NS,
  LINKERD,
  LINKERD_NS,
  linkerdAuthorizationPolicy,
  meshTLSAuthentication,
  preflightInput,
  type Scenario,
  server,
  UNMESHED_NS,
} from "./builders.ts";

const SERVER_REF = { group: "policy.linkerd.io", kind: "Server", name: "ledger-http" };
const MESH_TLS_REF = { group: "policy.linkerd.io", kind: "MeshTLSAuthentication", name: "ledger-clients" };
const NETWORK_REF = { group: "policy.linkerd.io", kind: "NetworkAuthentication", name: "cluster-network" };

function scenario(policies: Scenario["policies"], overrides: Partial<Scenario> = {}): Scenario {
  return {
    source: LINKERD,
    target: ISTIO,
    moving: ["shop"],
    namespaces: { shop: LINKERD_NS, billing: LINKERD_NS, tools: UNMESHED_NS },
    policies,
    ...overrides,
  };
}

const meshTLSOnly = {
  linkerdServers: [server("billing", "ledger-http")],
  linkerdAuthorizationPolicies: [
    linkerdAuthorizationPolicy("billing", "ledger-authn", SERVER_REF, [MESH_TLS_REF]),
  ],
  meshTLSAuthentications: [
    meshTLSAuthentication("billing", "ledger-clients", [
      "web.shop.serviceaccount.identity.linkerd.cluster.local",
    ]),
  ],
};

describe("LinkerdServerRequiresMeshTLS", () => {
  it("warns on a Server whose only AuthorizationPolicy requires a MeshTLSAuthentication, naming all three", () => {
    const warnings = linkerdServerWarnings(preflightInput(scenario(meshTLSOnly)));
    expect(warnings).toEqual([
      expect.objectContaining({
        code: "LinkerdServerRequiresMeshTLS",
        severity: "Warning",
        namespace: "billing",
      }),
    ]);
    const message = warnings[0]?.message ?? "";
    expect(message).toContain("Server billing/ledger-http (port http, accessPolicy deny)");
    expect(message).toContain("AuthorizationPolicy billing/ledger-authn");
    expect(message).toContain("MeshTLSAuthentication billing/ledger-clients");
    expect(message).toContain("web.shop.serviceaccount.identity.linkerd.cluster.local");
    expect(message).toContain("NetworkAuthentication");
  });

  it("covers AuthorizationPolicies that target the whole namespace", () => {
    const warnings = linkerdServerWarnings(
      preflightInput(
        scenario({
          ...meshTLSOnly,
          linkerdAuthorizationPolicies: [
            linkerdAuthorizationPolicy("billing", "ns-authn", { kind: "Namespace", name: "billing" }, [
              MESH_TLS_REF,
            ]),
          ],
        }),
      ),
    );
    expect(warnings).toHaveLength(1);
  });

  it("applies when namespaces move into Linkerd as well", () => {
    const warnings = linkerdServerWarnings(
      preflightInput(
        scenario(
          { ...meshTLSOnly, linkerdServers: [server("shop", "ledger-http")] },
          { source: ISTIO, target: LINKERD, namespaces: { shop: ISTIO_NS } },
        ),
      ),
    );
    expect(warnings).toEqual([]);
    const inShop = linkerdServerWarnings(
      preflightInput(
        scenario(
          {
            linkerdServers: [server("shop", "ledger-http")],
            linkerdAuthorizationPolicies: [
              linkerdAuthorizationPolicy("shop", "authn", SERVER_REF, [MESH_TLS_REF]),
            ],
          },
          { source: ISTIO, target: LINKERD, namespaces: { shop: ISTIO_NS } },
        ),
      ),
    );
    expect(inShop).toEqual([expect.objectContaining({ namespace: "shop" })]);
  });

  it("says nothing when the Server admits unauthenticated traffic or another policy opens it to a network", () => {
    const open = linkerdServerWarnings(
      preflightInput(
        scenario({
          ...meshTLSOnly,
          linkerdServers: [server("billing", "ledger-http", { accessPolicy: "all-unauthenticated" })],
        }),
      ),
    );
    expect(open).toEqual([]);
    const network = linkerdServerWarnings(
      preflightInput(
        scenario({
          ...meshTLSOnly,
          linkerdAuthorizationPolicies: [
            ...meshTLSOnly.linkerdAuthorizationPolicies,
            linkerdAuthorizationPolicy("billing", "ledger-network", SERVER_REF, [NETWORK_REF]),
          ],
        }),
      ),
    );
    expect(network).toEqual([]);
  });

  it("says nothing for Servers without MeshTLS requirements or outside the Linkerd side", () => {
    const networkOnly = linkerdServerWarnings(
      preflightInput(
        scenario({
          linkerdServers: [server("billing", "ledger-http")],
          linkerdAuthorizationPolicies: [
            linkerdAuthorizationPolicy("billing", "net", SERVER_REF, [NETWORK_REF]),
          ],
        }),
      ),
    );
    expect(networkOnly).toEqual([]);
    const outside = linkerdServerWarnings(
      preflightInput(
        scenario({
          linkerdServers: [server("tools", "ledger-http")],
          linkerdAuthorizationPolicies: [
            linkerdAuthorizationPolicy("tools", "authn", SERVER_REF, [MESH_TLS_REF]),
          ],
        }),
      ),
    );
    expect(outside).toEqual([]);
  });
});
