// The controller runtime against a real apiserver: Lease leader election between several
// electors, and an informer that follows adds, updates and deletes and recovers when its
// connection to the apiserver is cut (through a TCP relay on loopback that the test controls).
import { connect, createServer, type Server, type Socket } from "node:net";
import type * as k8s from "@kubernetes/client-node";
import { CoordinationV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Controller } from "../../src/runtime/controller.ts";
import { ResilientInformer } from "../../src/runtime/informer.ts";
import { LeaderElector } from "../../src/runtime/leader-election.ts";
import { WorkQueue } from "../../src/runtime/workqueue.ts";
import { e2eClients, e2eKubeConfig, uniqueName } from "../support/kube.ts";
import { waitFor } from "../support/wait.ts";

const { kc, core } = e2eClients();
const coordination = kc.makeApiClient(CoordinationV1Api);
const namespace = uniqueName("runtime");

beforeAll(async () => {
  await core.createNamespace({ body: { metadata: { name: namespace } } });
});

afterAll(async () => {
  await core.deleteNamespace({ name: namespace });
});

describe("leader election", () => {
  const timings = { leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 0.5 };

  function candidate(identity: string, lease: string) {
    const started: AbortSignal[] = [];
    const elector = new LeaderElector({
      kubeConfig: kc,
      namespace,
      name: lease,
      identity,
      ...timings,
      onStartedLeading: (signal) => {
        started.push(signal);
      },
    });
    void elector.run();
    return { elector, started };
  }

  const readLease = (name: string) => coordination.readNamespacedLease({ namespace, name });

  it("elects one leader, hands over at once on a graceful stop, and after expiry when a leader dies", async () => {
    const lease = "operator";
    const a = candidate("a", lease);
    await waitFor(() => a.elector.isLeader(), { description: "a to lead", timeoutMs: 20_000 });
    const created = await readLease(lease);
    expect(created.spec?.holderIdentity).toBe("a");
    expect(created.spec?.leaseTransitions).toBe(0);
    // MicroTime: the apiserver stored exactly what we sent, six fractional digits.
    expect(String(created.spec?.renewTime)).toMatch(/\.\d{6}Z$/);

    const b = candidate("b", lease);
    await waitFor(() => b.elector.leader() === "a", { description: "b to see a leading" });
    // Several renewals later a still leads and b still waits.
    const renewed = await waitFor(async () => {
      const current = await readLease(lease);
      return String(current.spec?.renewTime) !== String(created.spec?.renewTime) && current;
    });
    expect(renewed.spec?.holderIdentity).toBe("a");
    expect(b.elector.isLeader()).toBe(false);

    // Graceful stop: the Lease is released and b takes over within a retry or two.
    await a.elector.stop();
    expect(a.started[0]?.aborted).toBe(true);
    await waitFor(() => b.elector.isLeader(), { description: "b to lead", timeoutMs: 3_000, intervalMs: 50 });
    expect((await readLease(lease)).spec).toMatchObject({ holderIdentity: "b", leaseTransitions: 1 });

    // b "dies" (stops renewing without releasing): c waits out the lease duration, then takes over.
    await b.elector.stop({ release: false });
    expect((await readLease(lease)).spec?.holderIdentity).toBe("b");
    const c = candidate("c", lease);
    await waitFor(() => c.elector.leader() === "b", { description: "c to see b's stale lease" });
    expect(c.elector.isLeader()).toBe(false);
    await waitFor(() => c.elector.isLeader(), { description: "c to take over", timeoutMs: 15_000 });
    expect((await readLease(lease)).spec).toMatchObject({ holderIdentity: "c", leaseTransitions: 2 });
    await c.elector.stop();
  });

  it("lets exactly one of several electors started together lead", async () => {
    const lease = "contested";
    const candidates = ["p", "q", "r"].map((id) => candidate(id, lease));
    await waitFor(() => candidates.some((c) => c.elector.isLeader()), { description: "a leader" });
    // Watch for a while: never two leaders at once, and the leader is who the Lease names.
    for (let i = 0; i < 10; i++) {
      const leaders = candidates.filter((c) => c.elector.isLeader());
      expect(leaders).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const holder = (await readLease(lease)).spec?.holderIdentity;
    expect(candidates.find((c) => c.elector.isLeader())?.elector.identity).toBe(holder);
    await Promise.all(candidates.map((c) => c.elector.stop()));
  });
});

/** A TCP relay to the apiserver whose connections the test can cut, and which can refuse for a while. */
class Relay {
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<Socket>();
  #server: Server | undefined;
  #refusing = false;
  port = 0;

  constructor(target: { host: string; port: number }) {
    this.#target = target;
  }

  async start(): Promise<void> {
    this.#server = createServer((client) => {
      if (this.#refusing) {
        client.destroy();
        return;
      }
      const upstream = connect(this.#target.port, this.#target.host);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on("close", () => this.#sockets.delete(socket));
        socket.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, "127.0.0.1", resolve));
    this.port = (this.#server.address() as { port: number }).port;
  }

  /** Cuts every open connection (the informer's watch among them). */
  cut(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  refuse(refusing: boolean): void {
    this.#refusing = refusing;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.#server?.close(resolve));
  }
}

function kubeConfigThrough(relay: Relay): k8s.KubeConfig {
  const relayed = e2eKubeConfig();
  const cluster = relayed.getCurrentCluster()!;
  const url = new URL(cluster.server);
  url.port = String(relay.port);
  const clusters = relayed.clusters.map((c) => (c.name === cluster.name ? { ...c, server: url.origin } : c));
  relayed.loadFromOptions({
    clusters,
    users: relayed.users,
    contexts: relayed.contexts,
    currentContext: relayed.currentContext,
  });
  return relayed;
}

describe("informer", () => {
  let relay: Relay;

  beforeAll(async () => {
    const server = new URL(kc.getCurrentCluster()!.server);
    relay = new Relay({ host: server.hostname, port: Number(server.port || 443) });
    await relay.start();
  });

  afterAll(async () => {
    await relay.stop();
  });

  const configMap = (name: string, data: Record<string, string>): k8s.V1ConfigMap => ({
    metadata: { name, labels: { suite: "runtime" } },
    data,
  });

  it("follows adds, updates and deletes, feeds a controller, and recovers from a cut connection", async () => {
    const informer = new ResilientInformer<k8s.V1ConfigMap>(kubeConfigThrough(relay), {
      path: `/api/v1/namespaces/${namespace}/configmaps`,
      labelSelector: "suite=runtime",
      backoff: { initialMs: 200, maxMs: 1_000 },
    });
    const seen: string[] = [];
    const queue = new WorkQueue<string>({ name: "configmaps" });
    informer.onChange((cm) => {
      seen.push(`${cm.metadata?.name}=${cm.data?.v ?? "deleted?"}`);
      queue.add(cm.metadata?.name ?? "");
    });
    const reconciled: string[] = [];
    const controller = new Controller({
      name: "configmaps",
      queue,
      waitFor: [informer],
      // Level-triggered: reads the current state from the cache, whatever event brought the key.
      reconcile: async (name) => {
        reconciled.push(`${name}:${informer.get(name, namespace)?.data?.v ?? "absent"}`);
      },
    });

    await core.createNamespacedConfigMap({ namespace, body: configMap("before", { v: "0" }) });
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: "unlabelled" }, data: { v: "x" } },
    });
    const controllerStarted = controller.start();
    await informer.start();
    expect(await controllerStarted).toBe(true);
    expect(informer.hasSynced()).toBe(true);
    expect(informer.list().map((cm) => cm.metadata?.name)).toEqual(["before"]);

    await core.createNamespacedConfigMap({ namespace, body: configMap("cm", { v: "1" }) });
    await waitFor(() => informer.get("cm", namespace)?.data?.v === "1", { description: "add" });
    await core.replaceNamespacedConfigMap({ namespace, name: "cm", body: configMap("cm", { v: "2" }) });
    await waitFor(() => informer.get("cm", namespace)?.data?.v === "2", { description: "update" });
    await core.deleteNamespacedConfigMap({ namespace, name: "before" });
    await waitFor(() => informer.get("before", namespace) === undefined, { description: "delete" });
    expect(seen).toEqual(["before=0", "cm=1", "cm=2", "before=0"]);
    await waitFor(() => reconciled.includes("before:absent") && reconciled.includes("cm:2"), {
      description: "the controller to reconcile the final states",
    });

    // Cut the watch and refuse reconnects for a while; changes made meanwhile arrive afterwards.
    relay.refuse(true);
    relay.cut();
    await core.createNamespacedConfigMap({ namespace, body: configMap("while-down", { v: "3" }) });
    await core.replaceNamespacedConfigMap({ namespace, name: "cm", body: configMap("cm", { v: "4" }) });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(informer.get("while-down", namespace)).toBeUndefined();
    relay.refuse(false);
    await waitFor(
      () =>
        informer.get("while-down", namespace)?.data?.v === "3" &&
        informer.get("cm", namespace)?.data?.v === "4",
      { description: "the informer to catch up after the outage", timeoutMs: 20_000 },
    );

    // And it keeps watching after the restart.
    await core.deleteNamespacedConfigMap({ namespace, name: "cm" });
    await waitFor(() => informer.get("cm", namespace) === undefined, { description: "delete after restart" });
    await waitFor(() => reconciled.includes("cm:absent") && reconciled.includes("while-down:3"), {
      description: "the controller to reconcile after the restart",
    });
    expect(informer.hasSynced()).toBe(true);

    await controller.stop();
    await informer.stop();
  });
});
