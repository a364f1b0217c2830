// `get --watch` driven by a scripted watch and terminal: what a pipe and a terminal receive as the
// migration changes, and when the watch ends (Ready for the current spec, q, Ctrl-C, deletion).
// Fake timers stand in for the redraw coalescing: nothing here waits on the clock.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { LiveMigration } from "../../../../src/cli/plugin/migration-api.ts";
import {
  EXIT_INTERRUPTED,
  screenFrame,
  type Terminal,
  watchMigration,
} from "../../../../src/cli/plugin/watch.ts";
import type { NamespaceObjects } from "../../../../src/cli/plugin/workloads.ts";
import { failedMigration, NAME, NOW, progressingMigration, shopOrdersRestarting } from "./fixtures.ts";

type Json = Record<string, unknown>;

/** The fixture migration, Succeeded and Ready for generation `observed`. */
function succeeded(observed = 4): Json {
  const migration = progressingMigration();
  const status = migration.status as Json;
  status.phase = "Succeeded";
  status.observedGeneration = observed;
  status.conditions = [
    {
      type: "Ready",
      status: "True",
      reason: "Succeeded",
      message: "Every namespace is verified on linkerd",
      observedGeneration: observed,
      lastTransitionTime: "2026-12-02T10:12:00Z",
    },
  ];
  return migration;
}

class ScriptedWatch implements LiveMigration {
  current: unknown;
  listed = false;
  stopped = false;
  readonly followed: string[][] = [];
  readonly objects = new Map<string, NamespaceObjects>();
  readonly #handlers: Array<() => void> = [];

  constructor(current: unknown) {
    this.current = current;
  }
  async start() {
    this.listed = true;
    this.#emit();
  }
  async stop() {
    this.stopped = true;
  }
  synced() {
    return this.listed;
  }
  migration() {
    return this.current;
  }
  follow(namespaces: readonly string[]) {
    this.followed.push([...namespaces]);
  }
  objectsIn(namespace: string) {
    return this.objects.get(namespace);
  }
  onChange(handler: () => void) {
    this.#handlers.push(handler);
  }
  /** The watch reports a new version of the migration. */
  change(next: unknown) {
    this.current = next;
    this.#emit();
  }
  #emit() {
    for (const handler of this.#handlers) handler();
  }
}

class ScriptedTerminal implements Terminal {
  readonly written: string[] = [];
  color: boolean;
  key: (key: string) => void = () => {};
  signal: (signal: "SIGINT" | "SIGTERM") => void = () => {};
  readonly tty: boolean;
  constructor(tty: boolean) {
    this.tty = tty;
    this.color = tty;
  }
  size() {
    return this.tty ? { columns: 100, rows: 60 } : undefined;
  }
  write(text: string) {
    this.written.push(text);
  }
  listenForKeys(onKey: (key: string) => void) {
    this.key = onKey;
    return () => {
      this.key = () => {};
    };
  }
  listenForSignals(onSignal: (signal: "SIGINT" | "SIGTERM") => void) {
    this.signal = onSignal;
    return () => {};
  }
  listenForResize() {
    return () => {};
  }
  output() {
    return this.written.join("");
  }
}

function start(initial: unknown, tty: boolean) {
  const live = new ScriptedWatch(initial);
  live.objects.set("shop-orders", shopOrdersRestarting());
  const terminal = new ScriptedTerminal(tty);
  const exit = watchMigration({ name: NAME, allWorkloads: false, initial, live, terminal, now: () => NOW });
  return { live, terminal, exit };
}

/** Lets the coalesced redraw run, and the promises after it. */
const redraw = () => vi.advanceTimersByTimeAsync(100);

// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape character is what is looked for
const ESCAPE = /\x1b/;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("get --watch in a pipe", () => {
  it("prints the whole tree again on each change, separated, without escape codes, and ends at Ready", async () => {
    const { live, terminal, exit } = start(progressingMigration(), false);
    await redraw(); // the watch's first list: nothing new
    live.change(failedMigration());
    await redraw();
    live.change(failedMigration()); // a change that shows nothing new prints nothing
    await redraw();
    live.change(succeeded());
    await redraw();

    expect(await exit).toBe(0);
    const output = terminal.output();
    expect(output).not.toMatch(ESCAPE);
    expect(output.match(/^MeshMigration {2}istio-to-linkerd$/gm)).toHaveLength(3);
    expect(output.match(/^--- changed at 2026-12-02T10:12:34.000Z ---$/gm)).toHaveLength(2);
    expect(output).toContain("Phase          ✖ Failed");
    expect(output).toContain(
      "meshmigration istio-to-linkerd is Ready (Succeeded): Every namespace is verified on linkerd",
    );
    expect(live.stopped).toBe(true);
  });

  it("watches the workloads of the namespaces that are moving", async () => {
    const { live, terminal, exit } = start(progressingMigration(), false);
    await redraw();
    expect(live.followed.at(-1)).toEqual(["shop-orders"]);
    expect(terminal.output()).toContain("├─ deployment/api");
    live.change(succeeded());
    await redraw();
    await exit;
  });

  it("waits while Ready describes an older spec (an edit the operator has not seen)", async () => {
    const stale = succeeded(3);
    const { live, terminal, exit } = start(stale, false);
    await redraw();
    expect(terminal.output()).not.toContain("is Ready");
    live.change(succeeded(4));
    await redraw();
    expect(await exit).toBe(0);
  });

  it("ends with exit 1 when the migration is deleted", async () => {
    const { live, terminal, exit } = start(progressingMigration(), false);
    await redraw();
    live.change(undefined);
    await redraw();
    expect(await exit).toBe(1);
    expect(terminal.output()).toContain("meshmigration istio-to-linkerd was deleted while it was watched.");
  });
});

describe("get --watch on a terminal", () => {
  it("redraws in place on the alternate screen and leaves the last tree on the normal one when q is pressed", async () => {
    const { live, terminal, exit } = start(progressingMigration(), true);
    await redraw();
    live.change(failedMigration());
    await redraw();
    terminal.key("q");
    expect(await exit).toBe(0);
    const [first] = terminal.written;
    expect(first).toBe("\x1b[?1049h\x1b[?25l");
    expect(terminal.written.filter((text) => text.startsWith("\x1b[H")).length).toBeGreaterThanOrEqual(2);
    const last = terminal.written.filter((text) => text !== "").at(-1) ?? "";
    expect(last.startsWith("\x1b[?25h\x1b[?1049l")).toBe(true);
    expect(last).toContain("Failed");
  });

  it("ends with 130 on Ctrl-C, typed or signalled", async () => {
    const typed = start(progressingMigration(), true);
    typed.terminal.key("\x03");
    expect(await typed.exit).toBe(EXIT_INTERRUPTED);
    const signalled = start(progressingMigration(), true);
    signalled.terminal.signal("SIGINT");
    expect(await signalled.exit).toBe(EXIT_INTERRUPTED);
  });
});

describe("screenFrame", () => {
  it("clips a tree taller than the screen and says what is left out", () => {
    const tree = `${Array.from({ length: 10 }, (_, i) => `line ${i + 1}`).join("\n")}\n`;
    const lines = screenFrame(tree, 8, "footer").split("\n");
    expect(lines).toEqual([
      "line 1\x1b[K",
      "line 2\x1b[K",
      "line 3\x1b[K",
      "line 4\x1b[K",
      "line 5\x1b[K",
      "… 5 more lines: make the terminal taller, or run get without --watch\x1b[K",
      "\x1b[K",
      "footer\x1b[K",
    ]);
  });

  it("keeps a tree that fits whole", () => {
    expect(screenFrame("a\nb\n", 24, "footer")).toBe("a\x1b[K\nb\x1b[K\n\x1b[K\nfooter\x1b[K");
  });
});
