// Meshes we do not drive (Kuma, AWS App Mesh, OSM, and Consul until it has a driver), recognised
// from pod facts so that their pods are never taken for unmeshed ones, never moved, and never given
// one of our proxies too. Each mesh is a table entry; each of its signals cites the fact it relies
// on in ../shared/fixtures/meshes/<mesh>/FACTS.md. The same signals are read from a pod here and
// rendered as CEL for the double-mesh guard, so the planner and the guard cannot disagree.
// An entry whose mesh has a driver in the registry is ignored: the driver decides.
import type { PodFacts } from "./driver.ts";
import { markerValue } from "./markers.ts";
import { podMarkers } from "./pod-facts.ts";

/** One piece of evidence on a pod. Containers are looked up in containers and initContainers. */
export type PodCondition =
  | { kind: "container"; name: string }
  | { kind: "containerPrefix"; prefix: string }
  | { kind: "image"; container: string; contains: string }
  | { kind: "label" | "annotation"; key: string; value?: string };

/** Evidence that recognises a pod: every condition must hold. */
export interface Signal {
  all: readonly PodCondition[];
  /** The fixture fact it relies on: FACTS.md section, and the upstream file and lines it cites. */
  fact: string;
}

export interface ForeignMesh {
  /** The name a driver for this mesh would register under; once one does, this entry is ignored. */
  id: string;
  /** The mesh as users name it. */
  title: string;
  /** What gives it away, in a few words (for messages). */
  evidence: string;
  /** Any one signal recognises a pod. */
  signals: readonly Signal[];
  /** How a workload leaves this mesh, said to the user. */
  leave: string;
}

/**
 * Containers count whatever list they are in and whatever their restartPolicy: each of these
 * injectors tells an injected pod by a container or init container of that name, and the guard's
 * `variables.proxies` holds both lists' names.
 */
export const FOREIGN_MESHES: readonly ForeignMesh[] = [
  {
    id: "kuma",
    title: "Kuma",
    evidence: "kuma-sidecar",
    signals: [
      {
        all: [{ kind: "container", name: "kuma-sidecar" }],
        fact:
          "kuma/FACTS.md, Injected containers and Native sidecar mode: the sidecar is kuma-sidecar " +
          "(pkg/plugins/runtime/k8s/util/names.go L4-6), a native init container by default or containers[0] " +
          "(injector.go L311-341); the injector's own already-injected check is that name (section Pod opt-in / " +
          "opt-out, precheck.go L144-149)",
      },
      {
        all: [{ kind: "annotation", key: "kuma.io/sidecar-injected", value: "true" }],
        fact:
          'kuma/FACTS.md, What the injector stamps on the pod: kuma.io/sidecar-injected: "true" is the injected ' +
          "marker (kubernetes_config.go L427-429), on every injected fixture of both generations",
      },
    ],
    leave:
      "remove kuma.io/sidecar-injection: enabled from the namespace and the pod templates, or label the pod " +
      "templates kuma.io/sidecar-injection: disabled; then restart them",
  },
  {
    id: "appmesh",
    title: "AWS App Mesh",
    evidence: "envoy with proxyinit or the aws-appmesh-envoy image",
    signals: [
      {
        all: [
          { kind: "container", name: "envoy" },
          { kind: "container", name: "proxyinit" },
        ],
        fact:
          "appmesh/FACTS.md, Injected containers: the sidecar envoy (pkg/inject/envoy.go L15) with the init " +
          "container proxyinit (pkg/inject/init_proxy.go L9) in the default mode; envoy alone is OSM's name too",
      },
      {
        all: [{ kind: "image", container: "envoy", contains: "aws-appmesh-envoy" }],
        fact:
          "appmesh/FACTS.md, Traps for a detector and Injected containers: App Mesh's envoy runs the " +
          "aws-appmesh-envoy image (pkg/inject/config.go L155-157); in CNI mode there is no proxyinit " +
          "(pkg/inject/proxy.go L35-44)",
      },
    ],
    leave:
      "remove the namespace label appmesh.k8s.aws/sidecarInjectorWebhook, or annotate the pod templates " +
      "appmesh.k8s.aws/sidecarInjectorWebhook: disabled; then restart them",
  },
  {
    id: "osm",
    title: "Open Service Mesh",
    evidence: "envoy with osm-init, or the osm-proxy-uuid label",
    signals: [
      {
        all: [{ kind: "label", key: "osm-proxy-uuid" }],
        fact:
          "osm/FACTS.md, What the injector stamps on the pod: the label osm-proxy-uuid is the only injected " +
          "marker (pkg/constants/constants.go L121-122; pkg/injector/patch.go L89-95)",
      },
      {
        all: [
          { kind: "container", name: "envoy" },
          { kind: "container", name: "osm-init" },
        ],
        fact:
          "osm/FACTS.md, Injected containers: the sidecar envoy (constants.go L141-142) with the init container " +
          "osm-init (constants.go L144-145); envoy alone is App Mesh's name too",
      },
    ],
    leave:
      "run osm namespace remove for the namespace, or annotate the pod templates " +
      "openservicemesh.io/sidecar-injection: disabled; then restart them",
  },
  {
    id: "consul",
    title: "Consul",
    evidence: "consul-dataplane or the connect-inject-status marker",
    signals: [
      {
        all: [{ kind: "container", name: "consul-dataplane" }],
        fact:
          "consul/FACTS.md, Injected containers and Native sidecar mode: the sidecar consul-dataplane " +
          "(control-plane/connect-inject/webhook/mesh_webhook.go L39), first or last in containers, or an init " +
          "container in native mode (mesh_webhook.go L343-351)",
      },
      {
        all: [{ kind: "containerPrefix", prefix: "consul-dataplane-" }],
        fact:
          "consul/FACTS.md, Injected containers: a multi-port pod gets consul-dataplane-<service> per service " +
          "(consul_dataplane_sidecar.go L51-54)",
      },
      {
        all: [{ kind: "label", key: "consul.hashicorp.com/connect-inject-status", value: "injected" }],
        fact:
          "consul/FACTS.md, What the injector stamps on the pod: consul.hashicorp.com/connect-inject-status: " +
          "injected, a label and an annotation (mesh_webhook.go L446, L482)",
      },
      {
        all: [{ kind: "annotation", key: "consul.hashicorp.com/connect-inject-status", value: "injected" }],
        fact: "consul/FACTS.md, What the injector stamps on the pod: the same marker as an annotation (mesh_webhook.go L446)",
      },
      {
        all: [{ kind: "annotation", key: "consul.hashicorp.com/gateway-kind" }],
        fact:
          "consul/FACTS.md, Traps for a detector: mesh, ingress and terminating gateways run Consul's Envoy under " +
          "their own container names and carry consul.hashicorp.com/gateway-kind " +
          "(charts/consul/templates/mesh-gateway-deployment.yaml L45, L47)",
      },
      {
        all: [{ kind: "container", name: "consul-sidecar" }],
        fact:
          "consul/FACTS.md, Traps for a detector: pods injected before consul-k8s 1.0 run consul-sidecar beside " +
          "envoy-sidecar (consul_sidecar.go L38 at CONSUL-0.x)",
      },
    ],
    leave:
      'annotate the pod templates consul.hashicorp.com/connect-inject: "false" and restart them; move Consul ' +
      "gateways to another namespace",
  },
];

/** The entries no driver of `drivers` covers: a mesh with a driver is the driver's to recognise. */
export function foreignMeshesBeside(
  drivers: ReadonlyArray<{ name: string }>,
  table: readonly ForeignMesh[] = FOREIGN_MESHES,
): ForeignMesh[] {
  const driven = new Set(drivers.map((driver) => driver.name));
  return table.filter((mesh) => !driven.has(mesh.id));
}

function allContainers(pod: PodFacts): Array<{ name?: string; image?: string }> {
  return [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].filter(
    (container) => container !== null && container !== undefined,
  );
}

/** Whether the pod shows this piece of evidence. */
export function podShows(pod: PodFacts, condition: PodCondition): boolean {
  switch (condition.kind) {
    case "container":
      return allContainers(pod).some((c) => c.name === condition.name);
    case "containerPrefix":
      return allContainers(pod).some((c) => c.name?.startsWith(condition.prefix) === true);
    case "image":
      return allContainers(pod).some(
        (c) => c.name === condition.container && c.image?.includes(condition.contains) === true,
      );
    case "label":
    case "annotation": {
      const value = markerValue(podMarkers(pod), condition.kind, condition.key);
      return value !== undefined && (condition.value === undefined || value === condition.value);
    }
  }
}

/** Whether the pod runs this foreign mesh, read from pod facts only. */
export function recognises(mesh: ForeignMesh, pod: PodFacts): boolean {
  return mesh.signals.some((signal) => signal.all.every((condition) => podShows(pod, condition)));
}

/** A CEL string literal (single-quoted). */
export function celString(text: string): string {
  return `'${text.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}

function celMarker(kind: "label" | "annotation", key: string, value: string | undefined): string {
  const map = `object.metadata.${kind === "label" ? "labels" : "annotations"}`;
  const present = `has(${map}) && ${celString(key)} in ${map}`;
  return value === undefined
    ? `(${present})`
    : `(${present} && ${map}[${celString(key)}] == ${celString(value)})`;
}

/** One condition as CEL over `object` (the pod) and `variables.proxies` (its container names). */
export function celOfCondition(condition: PodCondition): string {
  switch (condition.kind) {
    case "container":
      return `variables.proxies.exists(n, n == ${celString(condition.name)})`;
    case "containerPrefix":
      return `variables.proxies.exists(n, n.startsWith(${celString(condition.prefix)}))`;
    case "image":
      // image is optional in a Pod's schema: reading an absent one would fail the admission.
      return (
        "(object.spec.containers + (has(object.spec.initContainers) ? object.spec.initContainers : []))" +
        `.exists(c, c.name == ${celString(condition.container)} && has(c.image) && ` +
        `c.image.contains(${celString(condition.contains)}))`
      );
    case "label":
    case "annotation":
      return celMarker(condition.kind, condition.key, condition.value);
  }
}

/** The whole entry as one CEL expression: true when the pod runs this foreign mesh. */
export function celOfForeignMesh(mesh: ForeignMesh): string {
  return mesh.signals.map((signal) => `(${signal.all.map(celOfCondition).join(" && ")})`).join(" || ");
}
