import type { V1Lease } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  formatMicroTime,
  LeaderElector,
  type LeaderElectorOptions,
  type LeaseClient,
  type LeasePatch,
} from "../../../src/runtime/leader-election.ts";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function conflict(): Error {
  return Object.assign(new Error("Conflict"), { code: 409 });
}

/** An in-memory Lease store with the apiserver's optimistic concurrency. */
class FakeLeases implements LeaseClient {
  lease: V1Lease | undefined;
  #version = 0;
  /** While true, every request fails as if the apiserver were unreachable. */
  down = false;
  writes = 0;

  async get(): Promise<V1Lease | undefined> {
    if (this.down) throw new Error("connection refused");
    return this.lease && structuredClone(this.lease);
  }

  async create(_namespace: string, lease: V1Lease): Promise<V1Lease> {
    if (this.down) throw new Error("connection refused");
    if (this.lease) throw conflict();
    this.lease = JSON.parse(JSON.stringify(lease)) as V1Lease;
    return this.#commit();
  }

  async patch(_namespace: string, _name: string, patch: LeasePatch): Promise<V1Lease> {
    if (this.down) throw new Error("connection refused");
    if (!this.lease || patch.metadata.resourceVersion !== this.lease.metadata?.resourceVersion)
      throw conflict();
    const spec: Record<string, unknown> = { ...this.lease.spec };
    for (const [key, value] of Object.entries(patch.spec)) {
      if (value === null) delete spec[key];
      else spec[key] = value;
    }
    this.lease.spec = spec;
    return this.#commit();
  }

  #commit(): V1Lease {
    this.writes++;
    this.lease!.metadata = { ...this.lease!.metadata, resourceVersion: String(++this.#version) };
    return structuredClone(this.lease!);
  }
}

interface Recorded {
  elector: LeaderElector;
  events: string[];
  signals: AbortSignal[];
  statuses: boolean[];
}

function elector(leases: LeaseClient, identity: string, extra: Partial<LeaderElectorOptions> = {}): Recorded {
  const events: string[] = [];
  const signals: AbortSignal[] = [];
  const statuses: boolean[] = [];
  const elector = new LeaderElector({
    namespace: "ops",
    name: "operator",
    identity,
    leaseDurationSeconds: 15,
    renewDeadlineSeconds: 10,
    retryPeriodSeconds: 2,
    client: leases,
    random: () => 0,
    onStartedLeading: (signal) => {
      events.push("started");
      signals.push(signal);
    },
    onStoppedLeading: () => {
      events.push("stopped");
    },
    onNewLeader: (leader) => {
      events.push(`leader:${leader}`);
    },
    metrics: { onLeaderStatus: (_name, leading) => statuses.push(leading) },
    ...extra,
  });
  return { elector, events, signals, statuses };
}

describe("LeaderElector", () => {
  it("creates the Lease, leads, and renews it with microsecond times", async () => {
    const leases = new FakeLeases();
    const a = elector(leases, "a");
    void a.elector.run();
    await vi.advanceTimersByTimeAsync(0);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.events).toEqual(["leader:a", "started"]);
    expect(a.statuses).toEqual([false, true]);
    expect(leases.lease?.spec).toMatchObject({
      holderIdentity: "a",
      leaseDurationSeconds: 15,
      leaseTransitions: 0,
    });

    const firstRenew = String(leases.lease?.spec?.renewTime);
    await vi.advanceTimersByTimeAsync(2_000);
    const secondRenew = String(leases.lease?.spec?.renewTime);
    expect(secondRenew).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(Date.parse(secondRenew) - Date.parse(firstRenew)).toBe(2_000);
    await a.elector.stop();
  });

  it("lets exactly one of two electors lead", async () => {
    const leases = new FakeLeases();
    const a = elector(leases, "a");
    const b = elector(leases, "b");
    void a.elector.run();
    void b.elector.run();
    await vi.advanceTimersByTimeAsync(30_000);
    expect([a.elector.isLeader(), b.elector.isLeader()].filter(Boolean)).toHaveLength(1);
    expect(b.elector.leader()).toBe(a.elector.isLeader() ? "a" : "b");
    await a.elector.stop();
    await b.elector.stop();
  });

  it("hands over at once when the leader stops gracefully, counting the transition", async () => {
    const leases = new FakeLeases();
    const a = elector(leases, "a");
    void a.elector.run();
    await vi.advanceTimersByTimeAsync(0);
    const b = elector(leases, "b");
    void b.elector.run();
    await vi.advanceTimersByTimeAsync(4_000);
    expect(b.elector.isLeader()).toBe(false);

    await a.elector.stop();
    expect(a.signals[0]?.aborted).toBe(true);
    expect(a.events.at(-1)).toBe("stopped");
    expect(leases.lease?.spec?.holderIdentity).toBeUndefined();

    await vi.advanceTimersByTimeAsync(2_000);
    expect(b.elector.isLeader()).toBe(true);
    expect(leases.lease?.spec).toMatchObject({ holderIdentity: "b", leaseTransitions: 1 });
    await b.elector.stop();
  });

  it("takes over a Lease whose holder vanished only after a full lease duration unchanged", async () => {
    const leases = new FakeLeases();
    const now = Date.now();
    leases.lease = {
      metadata: { name: "operator", namespace: "ops", resourceVersion: "7" },
      spec: {
        holderIdentity: "crashed",
        leaseDurationSeconds: 15,
        renewTime: formatMicroTime(now - 3_600_000) as unknown as Date,
        leaseTransitions: 4,
      },
    };
    const b = elector(leases, "b");
    void b.elector.run();
    await vi.advanceTimersByTimeAsync(14_000);
    expect(b.elector.isLeader()).toBe(false);
    expect(b.elector.leader()).toBe("crashed");
    await vi.advanceTimersByTimeAsync(2_000);
    expect(b.elector.isLeader()).toBe(true);
    expect(leases.lease?.spec).toMatchObject({ holderIdentity: "b", leaseTransitions: 5 });
    await b.elector.stop();
  });

  it("does not take over a Lease its holder keeps renewing", async () => {
    const leases = new FakeLeases();
    const a = elector(leases, "a");
    void a.elector.run();
    await vi.advanceTimersByTimeAsync(0);
    const b = elector(leases, "b");
    void b.elector.run();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(a.elector.isLeader()).toBe(true);
    expect(b.elector.isLeader()).toBe(false);
    await a.elector.stop();
    await b.elector.stop();
  });

  it("steps down when no renewal succeeds within the renew deadline, then competes again", async () => {
    const leases = new FakeLeases();
    const a = elector(leases, "a");
    void a.elector.run();
    await vi.advanceTimersByTimeAsync(0);
    leases.down = true;
    await vi.advanceTimersByTimeAsync(8_000);
    expect(a.elector.isLeader()).toBe(true);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.signals[0]?.aborted).toBe(true);
    expect(a.events).toEqual(["leader:a", "started", "stopped"]);
    expect(a.statuses.at(-1)).toBe(false);

    leases.down = false;
    await vi.advanceTimersByTimeAsync(5_000);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.signals).toHaveLength(2);
    expect(a.signals[1]?.aborted).toBe(false);
    await a.elector.stop();
  });

  it("steps down at once when another holder took the Lease over", async () => {
    const leases = new FakeLeases();
    const a = elector(leases, "a");
    void a.elector.run();
    await vi.advanceTimersByTimeAsync(0);
    const spec = leases.lease!.spec!;
    spec.holderIdentity = "intruder";
    leases.lease!.metadata!.resourceVersion = "999";
    await vi.advanceTimersByTimeAsync(2_000);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.events).toContain("leader:intruder");
    await a.elector.stop();
    expect(leases.lease?.spec?.holderIdentity).toBe("intruder");
  });

  it("keeps the Lease on stop when release is off", async () => {
    const leases = new FakeLeases();
    const a = elector(leases, "a", { releaseOnStop: false });
    void a.elector.run();
    await vi.advanceTimersByTimeAsync(0);
    await a.elector.stop();
    expect(a.elector.isLeader()).toBe(false);
    expect(leases.lease?.spec?.holderIdentity).toBe("a");
  });

  it("rejects timings where a leader could outlive its lease", () => {
    expect(() =>
      elector(new FakeLeases(), "a", { leaseDurationSeconds: 10, renewDeadlineSeconds: 10 }),
    ).toThrow(/leaseDurationSeconds/);
    expect(() => elector(new FakeLeases(), "a", { renewDeadlineSeconds: 2, retryPeriodSeconds: 2 })).toThrow(
      /renewDeadlineSeconds/,
    );
  });
});
