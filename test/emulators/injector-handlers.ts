// Admission handlers: glue between an AdmissionReview and the pure injectors.
import type { CoreV1Api } from "@kubernetes/client-node";
import {
  type AdmissionRequest,
  type AdmissionResponse,
  allow,
  podPatch,
  podUnderReview,
} from "./admission.ts";
import type { AdmissionHandler } from "./admission-server.ts";
import { decideIstioInjection, injectIstioSidecar } from "./istio-injector.ts";
import { type Annotations, decideLinkerdInjection, injectLinkerdProxy } from "./linkerd-injector.ts";
import type { Logger } from "./log.ts";

function namespaceOf(request: AdmissionRequest): string {
  const pod = podUnderReview(request);
  return request.namespace ?? pod?.metadata?.namespace ?? "default";
}

function podLabel(request: AdmissionRequest): string {
  const metadata = podUnderReview(request)?.metadata;
  return `${namespaceOf(request)}/${metadata?.name || `${metadata?.generateName ?? ""}*`}`;
}

export function istioAdmissionHandler(
  revision: string,
  nativeSidecars: boolean,
  log: Logger,
): AdmissionHandler {
  return async (request): Promise<AdmissionResponse> => {
    const pod = podUnderReview(request);
    if (!pod) return allow(request.uid);
    const namespace = namespaceOf(request);
    const decision = decideIstioInjection(pod, namespace);
    if (!decision.inject) {
      log.info("istio: not injecting", { revision, pod: podLabel(request), reason: decision.reason });
      return allow(request.uid);
    }
    const injected = injectIstioSidecar(pod, { revision, nativeSidecars, namespace });
    log.info("istio: injecting", { revision, pod: podLabel(request), native: nativeSidecars });
    return allow(request.uid, podPatch(pod, injected));
  };
}

export type NamespaceAnnotationsReader = (namespace: string) => Promise<Annotations>;

/** Reads the namespace fresh on every review: the operator flips it right before restarting pods. */
export function namespaceAnnotationsFromApi(core: CoreV1Api): NamespaceAnnotationsReader {
  return async (name) => (await core.readNamespace({ name })).metadata?.annotations ?? {};
}

export function linkerdAdmissionHandler(
  readNamespaceAnnotations: NamespaceAnnotationsReader,
  nativeSidecars: boolean,
  log: Logger,
): AdmissionHandler {
  return async (request): Promise<AdmissionResponse> => {
    const pod = podUnderReview(request);
    if (!pod) return allow(request.uid);
    const namespace = namespaceOf(request);
    const namespaceAnnotations = await readNamespaceAnnotations(namespace);
    const decision = decideLinkerdInjection(pod, namespaceAnnotations);
    if (!decision.inject) {
      log.info("linkerd: not injecting", { pod: podLabel(request), reason: decision.reason });
      return allow(request.uid);
    }
    const injected = injectLinkerdProxy(pod, { namespace, namespaceAnnotations, nativeSidecars });
    log.info("linkerd: injecting", { pod: podLabel(request), native: nativeSidecars });
    return allow(request.uid, podPatch(pod, injected));
  };
}
