// `get NAME --watch`: the tree redrawn on every change the watches report, until the migration is
// Ready for its current spec or the user quits. On a terminal it redraws in place on the alternate
// screen and leaves the last tree on the normal one; in a pipe it prints each changed tree in full,
// with no colour and no cursor movement.
import type { LiveMigration } from "./migration-api.ts";
import { conditionOf, isReady, migrationView } from "./migration-view.ts";
import { namespacesToExpand, renderTree } from "./render-tree.ts";
import { workloadsByNamespace } from "./workloads.ts";

export interface Terminal {
  /** Standard output is a terminal: redraw in place. */
  tty: boolean;
  color: boolean;
  size(): { columns: number; rows: number } | undefined;
  write(text: string): void;
  /** Calls onKey for each key typed while standard input is a terminal; returns how to stop. */
  listenForKeys(onKey: (key: string) => void): () => void;
  /** Calls onSignal on SIGINT or SIGTERM; returns how to stop. */
  listenForSignals(onSignal: (signal: "SIGINT" | "SIGTERM") => void): () => void;
  /** Calls onResize when the terminal changes size; returns how to stop. */
  listenForResize(onResize: () => void): () => void;
}

export interface WatchInput {
  name: string;
  allWorkloads: boolean;
  /** The migration as read before watching, shown until the watch has listed it. */
  initial: unknown;
  live: LiveMigration;
  terminal: Terminal;
  now: () => number;
}

const ALTERNATE_SCREEN = "\x1b[?1049h\x1b[?25l";
const NORMAL_SCREEN = "\x1b[?25h\x1b[?1049l";
const CURSOR_HOME = "\x1b[H";
const CLEAR_TO_LINE_END = "\x1b[K";
const CLEAR_BELOW = "\x1b[J";
/** Changes closer together than this (a rollout's burst of pod events) make one redraw. */
const REDRAW_COALESCE_MS = 100;
/** The elapsed time ticks on a terminal; nothing is read from the cluster for it. */
const CLOCK_TICK_MS = 1_000;
const DEFAULT_WIDTH = 100;
const FOOTER = "Watching for changes; q or Ctrl-C quits.";

export const EXIT_QUIT = 0;
export const EXIT_INTERRUPTED = 130;
export const EXIT_TERMINATED = 143;

/**
 * A frame for a screen of `rows` lines: the tree clipped with a note of what was left out, then
 * the footer; every line clears what an older, longer line left behind.
 */
export function screenFrame(frame: string, rows: number | undefined, footer: string): string {
  let lines = frame.replace(/\n$/, "").split("\n");
  if (rows !== undefined && rows > 2 && lines.length > rows - 2) {
    const kept = rows - 3;
    const hidden = lines.length - kept;
    lines = [
      ...lines.slice(0, kept),
      `… ${hidden} more lines: make the terminal taller, or run get without --watch`,
    ];
  }
  return [...lines, "", footer].map((line) => `${line}${CLEAR_TO_LINE_END}`).join("\n");
}

/** The separator a pipe gets between two trees. */
export function changeSeparator(now: number): string {
  return `\n--- changed at ${new Date(now).toISOString()} ---\n`;
}

class WatchSession {
  readonly #input: WatchInput;
  readonly #stops: Array<() => void> = [];
  #redrawTimer: ReturnType<typeof setTimeout> | undefined;
  #clockTimer: ReturnType<typeof setInterval> | undefined;
  #lastPipeFrame: string | undefined;
  #lastTree = "";
  #finished = false;
  #resolve: (code: number) => void = () => {};

  constructor(input: WatchInput) {
    this.#input = input;
  }

  async run(): Promise<number> {
    const done = new Promise<number>((resolve) => {
      this.#resolve = resolve;
    });
    const { terminal, live } = this.#input;
    if (terminal.tty) terminal.write(ALTERNATE_SCREEN);
    this.#stops.push(
      terminal.listenForKeys((key) => this.#onKey(key)),
      terminal.listenForSignals((signal) =>
        this.#finish(signal === "SIGINT" ? EXIT_INTERRUPTED : EXIT_TERMINATED),
      ),
      terminal.listenForResize(() => this.#scheduleRedraw()),
    );
    live.onChange(() => this.#scheduleRedraw());
    this.#draw();
    if (!this.#finished) {
      if (terminal.tty) this.#clockTimer = setInterval(() => this.#draw(), CLOCK_TICK_MS);
      await live.start();
    }
    return done;
  }

  #onKey(key: string): void {
    if (key === "q" || key === "Q") this.#finish(EXIT_QUIT);
    else if (key === "\x03") this.#finish(EXIT_INTERRUPTED);
  }

  #scheduleRedraw(): void {
    if (this.#finished || this.#redrawTimer !== undefined) return;
    this.#redrawTimer = setTimeout(() => {
      this.#redrawTimer = undefined;
      this.#draw();
    }, REDRAW_COALESCE_MS);
  }

  /** The migration as the watch has it, or as first read while the watch is still listing. */
  #current(): unknown {
    const { live, initial } = this.#input;
    return live.synced() ? live.migration() : (live.migration() ?? initial);
  }

  #draw(): void {
    if (this.#finished) return;
    const { name, allWorkloads, live, terminal, now } = this.#input;
    const raw = this.#current();
    if (raw === undefined) {
      this.#finish(1, `meshmigration ${name} was deleted while it was watched.\n`);
      return;
    }
    const view = migrationView(raw);
    const expanded = namespacesToExpand(view, allWorkloads);
    live.follow(expanded);
    const workloads = workloadsByNamespace(view, expanded, (ns) => live.objectsIn(ns));
    const size = terminal.size();
    const width = size?.columns || DEFAULT_WIDTH;
    const tree = renderTree({ migration: view, workloads, now: now(), color: terminal.color, width });
    this.#lastTree = tree;
    if (terminal.tty) {
      terminal.write(CURSOR_HOME + screenFrame(tree, size?.rows || undefined, FOOTER) + CLEAR_BELOW);
    } else {
      // A new tree only when something but the clock changed.
      const unclocked = renderTree({ migration: view, workloads, now: undefined, color: false, width });
      if (unclocked !== this.#lastPipeFrame) {
        terminal.write(this.#lastPipeFrame === undefined ? tree : changeSeparator(now()) + tree);
        this.#lastPipeFrame = unclocked;
      }
    }
    if (isReady(view)) {
      const message = conditionOf(view, "Ready")?.message ?? "";
      this.#finish(0, `\nmeshmigration ${name} is Ready (${view.status?.phase ?? "?"}): ${message}\n`);
    }
  }

  #finish(code: number, message = ""): void {
    if (this.#finished) return;
    this.#finished = true;
    clearTimeout(this.#redrawTimer);
    clearInterval(this.#clockTimer);
    for (const stop of this.#stops) stop();
    const { terminal, live } = this.#input;
    // The last tree stays on the normal screen, where the user's scrollback is.
    if (terminal.tty) terminal.write(NORMAL_SCREEN + this.#lastTree);
    terminal.write(message);
    void live.stop().finally(() => this.#resolve(code));
  }
}

/** Watches until Ready (exit 0), quit with q (0), Ctrl-C (130), SIGTERM (143) or deletion (1). */
export function watchMigration(input: WatchInput): Promise<number> {
  return new WatchSession(input).run();
}
