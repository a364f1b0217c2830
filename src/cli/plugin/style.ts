// How a phase looks: a symbol that reads without colour (a pipe, a log, NO_COLOR) and a colour on
// a terminal; progress bars and durations. Everything here is pure text.

export type Tone = "done" | "moving" | "waiting" | "held" | "problem" | "neutral";

const PHASE_LOOKS: Record<string, { symbol: string; tone: Tone }> = {
  Succeeded: { symbol: "✔", tone: "done" },
  Migrated: { symbol: "✔", tone: "done" },
  RolledBack: { symbol: "✔", tone: "done" },
  Planning: { symbol: "◐", tone: "moving" },
  Progressing: { symbol: "◐", tone: "moving" },
  InProgress: { symbol: "◐", tone: "moving" },
  Relabelled: { symbol: "◐", tone: "moving" },
  Restarting: { symbol: "◐", tone: "moving" },
  Verifying: { symbol: "◐", tone: "moving" },
  RollingBack: { symbol: "◐", tone: "moving" },
  Pending: { symbol: "○", tone: "waiting" },
  Waiting: { symbol: "○", tone: "waiting" },
  Paused: { symbol: "‖", tone: "held" },
  Holding: { symbol: "◆", tone: "held" },
  Failed: { symbol: "✖", tone: "problem" },
  Blocked: { symbol: "✖", tone: "problem" },
  DoubleMeshed: { symbol: "✖", tone: "problem" },
};

export function phaseLook(phase: string): { symbol: string; tone: Tone } {
  return PHASE_LOOKS[phase] ?? { symbol: "·", tone: "neutral" };
}

const TONE_CODES: Record<Tone, string | undefined> = {
  done: "32",
  moving: "33",
  waiting: "2",
  held: "36",
  problem: "31",
  neutral: undefined,
};

export interface Painter {
  tone: (tone: Tone, text: string) => string;
  bold: (text: string) => string;
}

/** ANSI colours when `color`, plain text otherwise. */
export function painter(color: boolean): Painter {
  const sgr = (code: string | undefined, text: string) =>
    color && code !== undefined && text !== "" ? `\x1b[${code}m${text}\x1b[0m` : text;
  return { tone: (tone, text) => sgr(TONE_CODES[tone], text), bold: (text) => sgr("1", text) };
}

/** "████████░░░░░░░░ 3/8": a bar of `width` cells, then the count. */
export function progressBar(done: number, total: number, width = 20): string {
  const filled = total > 0 ? Math.round((Math.min(done, total) / total) * width) : 0;
  return `${"█".repeat(filled)}${"░".repeat(width - filled)} ${done}/${total}`;
}

/** 45s, 4m05s, 2h03m, 3d04h: as precise as a person reading it needs. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const two = (n: number) => String(n).padStart(2, "0");
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${two(seconds % 60)}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h${two(minutes % 60)}m`;
  return `${Math.floor(hours / 24)}d${two(hours % 24)}h`;
}

/** Wraps text at word boundaries to `width`, every line starting with `indent`. */
export function wrapText(text: string, indent: string, width: number): string[] {
  const lines: string[] = [];
  let current = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (current && indent.length + current.length + 1 + word.length > width) {
      lines.push(indent + current);
      current = word;
    } else {
      current = current ? `${current} ${word}` : word;
    }
  }
  if (current) lines.push(indent + current);
  return lines;
}

/** Text without ANSI escape sequences (SGR colours and cursor movement). */
export function stripAnsi(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching the escape character is the point
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "");
}
