// /readyz follows the API server: an outage longer than the grace period makes the operator
// not ready, with why; the first answer after it makes it ready again.

import { KubeConfig } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiProbe } from "../../../src/runtime/api-probe.ts";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("ApiProbe", () => {
  it("says not ready once the API server has been silent past the grace period, ready again after an answer", async () => {
    let up = true;
    const probe = new ApiProbe(new KubeConfig(), {
      intervalMs: 1_000,
      staleAfterMs: 5_000,
      clock: {
        now: () => Date.now(),
        setTimeout: (f, ms) => setTimeout(f, ms),
        clearTimeout: (h) => clearTimeout(h as never),
      },
      probe: async () => {
        if (!up) throw new Error("connect ECONNREFUSED 127.0.0.1:6443");
      },
    });
    probe.start();
    await vi.advanceTimersByTimeAsync(3_000);
    expect(probe.problem()).toBeUndefined();

    up = false;
    await vi.advanceTimersByTimeAsync(4_000);
    expect(probe.problem()).toBeUndefined(); // within the grace period
    await vi.advanceTimersByTimeAsync(3_000);
    expect(probe.problem()).toMatch(/has not answered for \d+s \(connect ECONNREFUSED/);

    up = true;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(probe.problem()).toBeUndefined();
    probe.stop();
  });
});
