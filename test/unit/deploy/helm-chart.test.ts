// The Helm chart in charts/mesh-migration-operator, rendered by the real Helm (built from its Go
// module by scripts/tools/build-helm.sh). One source of truth: its default rendering, for a
// release named like deploy/'s objects, is deploy/ (the kustomize base, as `kubectl kustomize`
// renders it) in every field but labels and selectors: the same RBAC, hardening, Deployment,
// write limits. Then what each value changes, and that the files it copies are current.
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { goToolForTests } from "../../../scripts/tools/go-tools.ts";
import { writeLimits } from "../../../src/install/write-limits.ts";

const REPO_ROOT = resolve(import.meta.dirname, "../../..");
const CHART = resolve(REPO_ROOT, "charts/mesh-migration-operator");
const DEPLOY = resolve(REPO_ROOT, "deploy");
/** A release that gets exactly deploy/'s names. */
const RELEASE = "mesh-migration-operator";
const NAMESPACE = "mesh-migration-system";

const helm = goToolForTests("helm");

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are compared and walked generically
  [key: string]: any;
}

const key = (m: Manifest) => `${m.kind}/${m.metadata.namespace ?? ""}/${m.metadata.name}`;

function documents(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

// ---------------------------------------------------------------------------------------------
// deploy/, as kustomize renders it

interface Kustomization {
  resources: string[];
  labels?: Array<{ pairs: Record<string, string> }>;
  images?: Array<{ name: string; newName?: string; newTag?: string }>;
}

/**
 * The base as `kubectl kustomize deploy/` renders it, read from its files: its resources, with
 * its `images` applied (its `labels` are left out with every label below). A kustomization that
 * uses anything else (patches, a namespace) fails here rather than be misread.
 */
function deployRendering(): Manifest[] {
  const kustomization = parseYaml(
    readFileSync(resolve(DEPLOY, "kustomization.yaml"), "utf8"),
  ) as Kustomization;
  const understood = new Set(["apiVersion", "kind", "labels", "resources", "images"]);
  const unknown = Object.keys(kustomization).filter((k) => !understood.has(k));
  if (unknown.length > 0) {
    throw new Error(
      `deploy/kustomization.yaml uses ${unknown.join(", ")}, which this test does not apply: teach ` +
        "deployRendering() what it does before comparing the chart with it",
    );
  }
  const objects = kustomization.resources.flatMap((file) =>
    documents(readFileSync(resolve(DEPLOY, file), "utf8")),
  );
  for (const object of objects) {
    for (const container of object.spec?.template?.spec?.containers ?? []) {
      const image = kustomization.images?.find((i) => i.name === container.image);
      if (image) container.image = `${image.newName ?? image.name}:${image.newTag}`;
    }
  }
  return objects;
}

// ---------------------------------------------------------------------------------------------
// The chart, as `helm template` renders it

function helmTemplate(args: string[] = [], release = RELEASE, namespace = NAMESPACE): Manifest[] {
  const output = execFileSync(
    helm as string,
    ["template", release, CHART, "--namespace", namespace, ...args],
    {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  return documents(output);
}

/** `helm template` that must fail: its error output. */
function helmTemplateError(args: string[]): string {
  const run = spawnSync(helm as string, ["template", RELEASE, CHART, "--namespace", NAMESPACE, ...args], {
    encoding: "utf8",
  });
  expect(run.status, "helm template should have refused these values").not.toBe(0);
  return run.stderr;
}

const ofKind = (objects: Manifest[], kind: string) => objects.filter((o) => o.kind === kind);
function only(objects: Manifest[], kind: string): Manifest {
  const found = ofKind(objects, kind);
  expect(found, kind).toHaveLength(1);
  return found[0] as Manifest;
}

/**
 * An object without what the chart adds on purpose: Helm's labels (and so every label), and the
 * selectors, which also carry the release (app.kubernetes.io/instance) so that two releases never
 * select each other's pods. "selects only its own release's pods" below checks those.
 */
function withoutLabelsAndSelectors(object: Manifest): Manifest {
  const copy = structuredClone(object);
  delete copy.metadata.labels;
  if (copy.metadata.annotations && Object.keys(copy.metadata.annotations).length === 0) {
    delete copy.metadata.annotations;
  }
  if (copy.kind === "Service" || copy.kind === "PodDisruptionBudget" || copy.kind === "Deployment") {
    delete copy.spec.selector;
  }
  if (copy.kind === "Deployment") {
    delete copy.spec.template.metadata.labels;
    for (const constraint of copy.spec.template.spec.topologySpreadConstraints ?? []) {
      delete constraint.labelSelector;
    }
  }
  return copy;
}

function byKey(objects: Manifest[]): Map<string, Manifest> {
  return new Map(objects.map((o) => [key(o), withoutLabelsAndSelectors(o)]));
}

// ---------------------------------------------------------------------------------------------

describe.skipIf(helm === undefined)("the Helm chart (helm template, helm lint)", () => {
  const chart = helm ? helmTemplate() : [];
  const deploy = deployRendering();
  const chartObjects = byKey(chart);
  const deployObjects = byKey(deploy);
  /** The chart's object for each of deploy/'s of these kinds, side by side. */
  const pairs = (kinds: string[]) =>
    [...deployObjects.entries()]
      .filter(([, object]) => kinds.includes(object.kind))
      .map(([name, object]) => ({ name, deploy: object, chart: chartObjects.get(name) }));

  it("passes helm lint, with its defaults and with every optional object on", () => {
    const lint = (args: string[]) =>
      spawnSync(helm as string, ["lint", CHART, "--strict", ...args], { encoding: "utf8" });
    for (const args of [
      [],
      [
        "--set",
        "metrics.serviceMonitor.enabled=true,metrics.prometheusRule.enabled=true,metrics.grafanaDashboard.enabled=true",
      ],
      ["--set", "leaderElection.enabled=false,replicas=1"],
    ]) {
      const run = lint(args);
      expect(run.status, `helm lint ${args.join(" ")}:\n${run.stdout}${run.stderr}`).toBe(0);
    }
  });

  it("renders deploy/'s objects, the Namespace aside (Helm installs into one that exists)", () => {
    const expected = [...deployObjects.keys()].filter((k) => !k.startsWith("Namespace/")).sort();
    expect([...chartObjects.keys()].sort()).toEqual(expected);
  });

  it("grants exactly deploy/'s RBAC: the same rules, in the same namespaces, bound to the same ServiceAccount", () => {
    const rbac = pairs(["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"]);
    expect(rbac.length).toBeGreaterThanOrEqual(7);
    for (const { name, deploy, chart } of rbac) expect(chart, name).toEqual(deploy);
  });

  it("runs deploy/'s Deployment: hardening, probes, resources, args, env, image, replicas and rollout", () => {
    const [deployment] = pairs(["Deployment"]);
    const pod = (m: Manifest | undefined) => m?.spec.template.spec;
    const container = (m: Manifest | undefined) => pod(m)?.containers[0];
    // Field by field first, so a difference names what differs.
    for (const field of ["securityContext", "livenessProbe", "readinessProbe", "resources", "args", "env"]) {
      expect(container(deployment?.chart)?.[field], `container ${field}`).toEqual(
        container(deployment?.deploy)?.[field],
      );
    }
    expect(pod(deployment?.chart)?.securityContext, "pod securityContext").toEqual(
      pod(deployment?.deploy)?.securityContext,
    );
    expect(deployment?.chart).toEqual(deployment?.deploy);
  });

  it("installs deploy/'s write limits, for the same ServiceAccount, and its Service and PodDisruptionBudget", () => {
    const rest = pairs([
      "ValidatingAdmissionPolicy",
      "ValidatingAdmissionPolicyBinding",
      "Service",
      "PodDisruptionBudget",
    ]);
    expect(rest.length).toBeGreaterThanOrEqual(12);
    for (const { name, deploy, chart } of rest) expect(chart, name).toEqual(deploy);
  });

  it("selects only its own release's pods: Service, budget, spread and Deployment selectors", () => {
    const deployment = only(chart, "Deployment");
    const podLabels = deployment.spec.template.metadata.labels;
    const selectors = [
      deployment.spec.selector.matchLabels,
      only(chart, "Service").spec.selector,
      only(chart, "PodDisruptionBudget").spec.selector.matchLabels,
      ...deployment.spec.template.spec.topologySpreadConstraints.map(
        (c: { labelSelector: { matchLabels: unknown } }) => c.labelSelector.matchLabels,
      ),
    ];
    for (const selector of selectors) {
      expect(selector).toEqual({
        "app.kubernetes.io/name": "mesh-migration-operator",
        "app.kubernetes.io/instance": RELEASE,
      });
      expect(podLabels).toMatchObject(selector);
    }
  });

  it("labels every object as deploy/ does, and as Helm's", () => {
    for (const object of chart) {
      expect(object.metadata.labels, key(object)).toMatchObject({
        "app.kubernetes.io/name": "mesh-migration-operator",
        "app.kubernetes.io/part-of": "mesh-migration-operator",
        "app.kubernetes.io/instance": RELEASE,
        "app.kubernetes.io/managed-by": "Helm",
      });
    }
  });

  describe("values", () => {
    const deploymentWith = (args: string[]) => only(helmTemplate(args), "Deployment");
    const containerWith = (args: string[]) => deploymentWith(args).spec.template.spec.containers[0];

    it("sets the image by tag or digest, and its pull policy and secrets", () => {
      expect(containerWith(["--set", "image.repository=registry.example/mmo,image.tag=1.2.3"]).image).toBe(
        "registry.example/mmo:1.2.3",
      );
      const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
      expect(containerWith(["--set", `image.digest=${digest}`]).image).toBe(
        `mesh-migration-operator@${digest}`,
      );
      const pulled = deploymentWith(["--set", "image.pullPolicy=Always,imagePullSecrets[0].name=registry"]);
      expect(pulled.spec.template.spec.containers[0].imagePullPolicy).toBe("Always");
      expect(pulled.spec.template.spec.imagePullSecrets).toEqual([{ name: "registry" }]);
    });

    it("sets replicas, resources, the heap cap and the log level", () => {
      const deployment = deploymentWith([
        "--set",
        "replicas=3,resources.limits.memory=1Gi,heapLimitMiB=512,logLevel=debug",
      ]);
      expect(deployment.spec.replicas).toBe(3);
      const container = deployment.spec.template.spec.containers[0];
      expect(container.resources.limits.memory).toBe("1Gi");
      expect(container.env).toContainEqual({
        name: "NODE_OPTIONS",
        value: "--max-old-space-size=512 --max-semi-space-size=2",
      });
      expect(container.args).toContain("--log-level=debug");
    });

    it("passes the migration selector, a Lease name and extra flags to the operator", () => {
      const objects = helmTemplate([
        "--set",
        "migrationSelector=team=payments,leaderElection.id=mmo-payments",
        "--set-json",
        'extraArgs=["--workers=4"]',
      ]);
      const args = only(objects, "Deployment").spec.template.spec.containers[0].args;
      expect(args).toEqual(expect.arrayContaining(["--migration-selector=team=payments", "--workers=4"]));
      expect(args).toContain("--leader-election-id=mmo-payments");
      // The Role lets it read and patch that Lease, and no other.
      const leaderRole = objects.find(
        (o) => o.kind === "Role" && o.metadata.name.endsWith("-leader-election"),
      );
      expect(leaderRole?.rules[1]).toMatchObject({
        resourceNames: ["mmo-payments"],
        verbs: ["get", "patch"],
      });
    });

    it("without leader election: one replica, no Lease Role, no budget; two replicas are refused", () => {
      const objects = helmTemplate(["--set", "leaderElection.enabled=false,replicas=1"]);
      expect(only(objects, "Deployment").spec.template.spec.containers[0].args).toContain(
        "--leader-elect=false",
      );
      expect(ofKind(objects, "Role").map((r) => r.metadata.name)).toEqual(["mesh-migration-operator-events"]);
      expect(ofKind(objects, "PodDisruptionBudget")).toEqual([]);
      expect(helmTemplateError(["--set", "leaderElection.enabled=false"])).toContain(
        "set replicas: 1 or enable leader election",
      );
    });

    it("adds extra labels and annotations to every object, and pod labels and annotations to the pods", () => {
      const objects = helmTemplate([
        "--set",
        "labels.team=platform,annotations.owner=platform@example.com",
        "--set",
        "podLabels.tier=control,podAnnotations.example\\.com/scrape=yes",
      ]);
      for (const object of objects) {
        expect(object.metadata.labels?.team, key(object)).toBe("platform");
        expect(object.metadata.annotations?.owner, key(object)).toBe("platform@example.com");
      }
      const template = only(objects, "Deployment").spec.template.metadata;
      expect(template.labels.tier).toBe("control");
      // The pods' own opt-outs of both meshes stay whatever the values say.
      expect(template.annotations).toEqual({
        "example.com/scrape": "yes",
        "sidecar.istio.io/inject": "false",
        "linkerd.io/inject": "disabled",
      });
    });

    it("names another release's ServiceAccount in its bindings and its write limits", () => {
      const namespace = "platform-system";
      const serviceAccount = "mmo";
      const objects = helmTemplate(["--set", `serviceAccount.name=${serviceAccount}`], "platform", namespace);
      const subject = { kind: "ServiceAccount", name: serviceAccount, namespace };
      for (const binding of [...ofKind(objects, "ClusterRoleBinding"), ...ofKind(objects, "RoleBinding")]) {
        expect(binding.subjects, key(binding)).toEqual([subject]);
      }
      expect(only(objects, "ServiceAccount").metadata).toMatchObject({ name: serviceAccount, namespace });
      expect(only(objects, "Deployment").spec.template.spec.serviceAccountName).toBe(serviceAccount);
      // Leases in the release's namespace; Events still in "default", where the operator writes them.
      expect(ofKind(objects, "Role").map((r) => r.metadata.namespace)).toEqual(
        expect.arrayContaining([namespace, "default"]),
      );
      // The write limits are what src/install/write-limits.ts generates for that ServiceAccount,
      // under this release's names.
      const renamed = (name: string) =>
        name.replace(/^mesh-migration-operator-/, "platform-mesh-migration-operator-");
      const limits = objects.filter((o) => o.kind.startsWith("ValidatingAdmissionPolicy"));
      const generated = (writeLimits({ namespace, serviceAccount }) as Manifest[]).map((o) => ({
        kind: o.kind,
        name: renamed(o.metadata.name),
        spec: o.spec.policyName ? { ...o.spec, policyName: renamed(o.spec.policyName) } : o.spec,
      }));
      const rendered = limits.map((o) => ({ kind: o.kind, name: o.metadata.name, spec: o.spec }));
      const byName = (a: { kind: string; name: string }, b: { kind: string; name: string }) =>
        `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`);
      expect(rendered.sort(byName)).toEqual(generated.sort(byName));
    });

    it("adds a ServiceMonitor for the metrics Service only when asked", () => {
      expect(ofKind(chart, "ServiceMonitor")).toEqual([]);
      const objects = helmTemplate([
        "--set",
        "metrics.serviceMonitor.enabled=true,metrics.serviceMonitor.labels.release=prometheus,metrics.serviceMonitor.interval=15s",
      ]);
      const monitor = only(objects, "ServiceMonitor");
      const service = only(objects, "Service");
      expect(monitor.metadata.labels?.release).toBe("prometheus");
      expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
      expect(monitor.spec.namespaceSelector).toEqual({ matchNames: [NAMESPACE] });
      expect(monitor.spec.endpoints).toEqual([
        { port: service.spec.ports[0].name, path: "/metrics", interval: "15s" },
      ]);
    });

    it("adds deploy/monitoring's alerts and dashboard only when asked", () => {
      expect(ofKind(chart, "PrometheusRule")).toEqual([]);
      expect(ofKind(chart, "ConfigMap")).toEqual([]);
      const objects = helmTemplate([
        "--set",
        "metrics.prometheusRule.enabled=true,metrics.grafanaDashboard.enabled=true",
      ]);
      const source = parseYaml(readFileSync(resolve(DEPLOY, "monitoring/prometheus-rule.yaml"), "utf8"));
      expect(only(objects, "PrometheusRule").spec).toEqual(source.spec);
      const dashboard = only(objects, "ConfigMap");
      expect(dashboard.metadata.labels?.grafana_dashboard).toBe("1");
      expect(JSON.parse(dashboard.data["mesh-migration-operator.json"])).toEqual(
        JSON.parse(readFileSync(resolve(DEPLOY, "monitoring/grafana-dashboard.json"), "utf8")),
      );
    });

    it("fits the alerts to the release: its Lease, and no leader alerts without leader election", () => {
      const alerts = (args: string) =>
        only(
          helmTemplate(["--set", `metrics.prometheusRule.enabled=true,${args}`]),
          "PrometheusRule",
        ).spec.groups.flatMap((g: { rules: Array<{ alert: string; expr: string }> }) => g.rules);
      const renamed = alerts("leaderElection.id=mmo-payments");
      const leader = renamed.find((r: { alert: string }) => r.alert === "MeshMigrationOperatorNoLeader");
      expect(leader?.expr).toContain('leader_election_master_status{name="mmo-payments"}');
      const names = alerts("leaderElection.enabled=false,replicas=1").map((r: { alert: string }) => r.alert);
      expect(names).not.toContain("MeshMigrationOperatorNoLeader");
      expect(names).not.toContain("MeshMigrationOperatorAbsent");
      expect(names).toContain("MeshMigrationDoubleMeshedPods");
    });
  });
});

describe("the files the chart copies", () => {
  const stale = (copy: string, source: string) =>
    `charts/mesh-migration-operator/${copy} is not a copy of ${source} any more: run \`bash scripts/tools/sync-chart.sh\``;
  const read = (path: string) => readFileSync(resolve(REPO_ROOT, path), "utf8");

  it("installs the current CRDs from crds/", () => {
    const sources = readdirSync(resolve(REPO_ROOT, "crds")).filter((f) => f.endsWith(".yaml"));
    expect(readdirSync(resolve(CHART, "crds")).sort(), stale("crds/", "crds/")).toEqual(sources.sort());
    for (const file of sources) {
      expect(read(`charts/mesh-migration-operator/crds/${file}`), stale(`crds/${file}`, `crds/${file}`)).toBe(
        read(`crds/${file}`),
      );
    }
  });

  it("holds the current ClusterRole rules, write limits and monitoring", () => {
    for (const [copy, source] of [
      ["files/cluster-role.yaml", "deploy/cluster-role.yaml"],
      ["files/write-limits.yaml", "deploy/write-limits.yaml"],
      ["files/prometheus-rule.yaml", "deploy/monitoring/prometheus-rule.yaml"],
      ["files/grafana-dashboard.json", "deploy/monitoring/grafana-dashboard.json"],
    ] as const) {
      expect(read(`charts/mesh-migration-operator/${copy}`), stale(copy, source)).toBe(read(source));
    }
  });

  it("is released at the package's version", () => {
    const pkg = JSON.parse(read("package.json")) as { version: string };
    const chart = parseYaml(read("charts/mesh-migration-operator/Chart.yaml")) as {
      version: string;
      appVersion: string;
    };
    expect(chart).toMatchObject({ version: pkg.version, appVersion: pkg.version });
  });
});
