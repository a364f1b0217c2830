// The HTTPS admission endpoint end to end on 127.0.0.1 (no cluster): TLS from the
// openssl CLI, AdmissionReview in and out, and the socket going down and back up.
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AdmissionResponse,
  type AdmissionReview,
  applyPodPatch,
  type JsonPatchOperation,
} from "../../emulators/admission.ts";
import { type AdmissionServer, createAdmissionServer } from "../../emulators/admission-server.ts";
import { istioAdmissionHandler, linkerdAdmissionHandler } from "../../emulators/injector-handlers.ts";
import type { Logger } from "../../emulators/log.ts";
import { ensureServingTls, type ServingTls } from "../../emulators/tls.ts";
import { names } from "./fixtures.ts";

const quiet: Logger = { info: () => {}, error: () => {} };

function post(
  port: number,
  path: string,
  body: unknown,
  ca: string,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: "POST",
        ca,
        agent: false,
        headers: { "content-type": "application/json" },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString() || "null"),
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

function review(pod: V1Pod, namespace = "shop"): AdmissionReview {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: "uid-1",
      kind: { group: "", version: "v1", kind: "Pod" },
      operation: "CREATE",
      namespace,
      object: pod,
    },
  };
}

function patchedPod(pod: V1Pod, response: AdmissionResponse): V1Pod {
  if (!response.patch) return pod;
  const operations = JSON.parse(Buffer.from(response.patch, "base64").toString()) as JsonPatchOperation[];
  return applyPodPatch(pod, operations);
}

const appPod: V1Pod = {
  metadata: { generateName: "web-" },
  spec: { containers: [{ name: "web", image: "web:1" }] },
};

describe("admission server", () => {
  let dir: string;
  let tls: ServingTls;
  let istio: AdmissionServer;
  let linkerd: AdmissionServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "emulator-tls-"));
    tls = ensureServingTls(dir);
    istio = createAdmissionServer({
      name: "istiod",
      tls,
      path: "/inject",
      handler: istioAdmissionHandler("default", true, quiet),
      log: quiet,
    });
    const namespaces: Record<string, Record<string, string>> = { shop: { "linkerd.io/inject": "enabled" } };
    linkerd = createAdmissionServer({
      name: "linkerd-proxy-injector",
      tls,
      path: "/",
      handler: linkerdAdmissionHandler(async (ns) => namespaces[ns] ?? {}, true, quiet),
      log: quiet,
    });
    await istio.setServing(true);
    await linkerd.setServing(true);
  });

  afterAll(async () => {
    await istio?.setServing(false);
    await linkerd?.setServing(false);
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves a certificate for 127.0.0.1 signed by the CA in the bundle", async () => {
    expect(Buffer.from(tls.caBundle, "base64").toString()).toBe(tls.caPem);
    const { status } = await post(istio.port(), "/inject", review(appPod), tls.caPem);
    expect(status).toBe(200);
  });

  it("answers an Istio review with a patch that injects the sidecar", async () => {
    const { body } = await post(istio.port(), "/inject", review(appPod), tls.caPem);
    const response = (body as AdmissionReview).response;
    expect(response).toMatchObject({ uid: "uid-1", allowed: true, patchType: "JSONPatch" });
    const injected = patchedPod(appPod, response as AdmissionResponse);
    expect(names(injected.spec?.initContainers)).toEqual(["istio-init", "istio-proxy"]);
    expect(injected.metadata?.annotations?.["istio.io/rev"]).toBe("default");
  });

  it("lets a skipped pod through without a patch", async () => {
    const hostNetwork = {
      ...appPod,
      spec: { ...appPod.spec, containers: appPod.spec?.containers ?? [], hostNetwork: true },
    };
    const { body } = await post(istio.port(), "/inject", review(hostNetwork), tls.caPem);
    expect((body as AdmissionReview).response).toEqual({ uid: "uid-1", allowed: true });
  });

  it("reads the namespace's annotations for Linkerd", async () => {
    const inShop = await post(linkerd.port(), "/", review(appPod, "shop"), tls.caPem);
    const injected = patchedPod(appPod, (inShop.body as AdmissionReview).response as AdmissionResponse);
    expect(names(injected.spec?.initContainers)).toEqual(["linkerd-init", "linkerd-proxy"]);
    expect(injected.metadata?.labels?.["linkerd.io/workload-ns"]).toBe("shop");

    const elsewhere = await post(linkerd.port(), "/", review(appPod, "other"), tls.caPem);
    expect((elsewhere.body as AdmissionReview).response?.patch).toBeUndefined();
  });

  it("answers 404 on another path and 400 on a malformed review", async () => {
    expect((await post(istio.port(), "/other", review(appPod), tls.caPem)).status).toBe(404);
    expect((await post(istio.port(), "/inject", { kind: "AdmissionReview" }, tls.caPem)).status).toBe(400);
  });

  it("refuses connections while down and serves again on the same port", async () => {
    const port = linkerd.port();
    await linkerd.setServing(false);
    expect(linkerd.isServing()).toBe(false);
    await expect(post(port, "/", review(appPod), tls.caPem)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    await linkerd.setServing(true);
    expect(linkerd.port()).toBe(port);
    expect((await post(port, "/", review(appPod), tls.caPem)).status).toBe(200);
  });

  it("reuses the certificates already in the state directory", () => {
    expect(ensureServingTls(dir)).toEqual(tls);
  });
});
