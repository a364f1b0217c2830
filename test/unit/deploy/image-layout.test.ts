// The image's layout, made as the Dockerfile's stages make it and started as the Deployment runs
// it, without a Docker engine: package.json from the context, dist/ from the build stage's
// `npm run build`, node_modules/ from the production-dependencies stage's `npm ci` (served by
// the local npm cache). Then the final stage's ENTRYPOINT, with its ENV, as its USER, in a private
// mount namespace where every filesystem is read-only (root is needed for that), with no
// cluster reachable. What this does not cover (the base image, `docker build` itself) is listed
// in the README.
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyArgs, execForm, parseDockerfile, type Stage } from "../../../scripts/image/dockerfile.ts";

const REPO_ROOT = resolve(import.meta.dirname, "../../..");
const dockerfile = parseDockerfile(readFileSync(join(REPO_ROOT, "Dockerfile"), "utf8"));
const final = dockerfile.stages.at(-1) as Stage;
const all = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.keyword === keyword);
const [uid = 0, gid = uid] = (all(final, "USER").at(-1)?.args ?? "0").split(":").map(Number);
const entrypoint = execForm(all(final, "ENTRYPOINT").at(-1)?.args ?? "") ?? [];
const imageEnv: Record<string, string> = Object.fromEntries(
  all(final, "ENV").flatMap((i) =>
    [...i.args.matchAll(/(\w+)=("[^"]*"|\S+)/g)].map((m) => [m[1], (m[2] ?? "").replace(/^"|"$/g, "")]),
  ),
);
// The base image's node: the same release as the tests' (dockerfile.test.ts holds them together).
const pinnedNode = join(REPO_ROOT, "node_modules/node/bin/node");
const run = promisify(execFile);

/** Why the layout cannot be run as the image's USER on a read-only root here, if it cannot. */
function isolationUnavailable(): string | undefined {
  if (process.platform !== "linux") return `needs Linux mount namespaces (this is ${process.platform})`;
  if (process.getuid?.() !== 0)
    return "needs root for unshare --mount and setpriv (to become the image's USER)";
  const probe = spawnSync(
    "unshare",
    ["--mount", "--", "sh", "-c", `mount -o remount,bind,ro / && exec setpriv --reuid=${uid} -- true`],
    { encoding: "utf8" },
  );
  if (probe.status !== 0) return `unshare --mount failed: ${probe.error?.message ?? probe.stderr.trim()}`;
  return undefined;
}

/** The mount points seen writable in `mountinfo`, apart from the kernel's (/proc, /sys, /dev), which a container has too. */
function writableMounts(mountinfo: string): string[] {
  return mountinfo
    .split("\n")
    .map((line) => line.split(" "))
    .filter((fields) => fields[5]?.split(",").includes("rw"))
    .map((fields) =>
      (fields[4] ?? "").replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))),
    )
    .filter((path) => !/^\/(proc|sys|dev)(\/|$)/.test(path));
}

const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
const unavailable = isolationUnavailable();
const skip = unavailable !== undefined && process.env.CI !== "true";
if (skip) console.warn(`[image-layout] not run: ${unavailable} (with CI=true this fails instead)`);

describe.skipIf(skip)("the image's layout", () => {
  let work = "";
  let app = "";

  /** Makes what one COPY of the final stage puts into the image, the way its stage makes it. */
  async function produce({ flags, sources, dest }: ReturnType<typeof copyArgs>): Promise<void> {
    const target = join(app, dest);
    const stage = dockerfile.stages.find((s) => s.name === flags.from);
    const command = stage ? (all(stage, "RUN").at(-1)?.args ?? "") : "";
    const started = Date.now();
    if (flags.from === undefined) {
      for (const source of sources) {
        cpSync(join(REPO_ROOT, source), dest.endsWith("/") ? join(target, basename(source)) : target);
      }
    } else if (stage && /^npm ci(\s+--[\w=-]+)*$/.test(command) && sources[0]?.endsWith("/node_modules")) {
      const dir = join(work, "production-dependencies");
      mkdirSync(dir);
      for (const copy of all(stage, "COPY").map((i) => copyArgs(i.args))) {
        for (const source of copy.sources) cpSync(join(REPO_ROOT, source), join(dir, source));
      }
      // The stage's own flags. --prefer-offline: from the npm cache that the `npm ci` before the
      // tests filled (CI's does), the registry only for what it lacks.
      await run("npm", [...command.split(/\s+/).slice(1), "--prefer-offline"], { cwd: dir });
      renameSync(join(dir, "node_modules"), target);
    } else if (command === "npm run build" && sources[0]?.endsWith("/dist")) {
      await run("npm", ["run", "build", "--", "--outDir", target], { cwd: REPO_ROOT });
    } else {
      throw new Error(
        `this test cannot make COPY --from=${flags.from} ${sources.join(" ")} (RUN ${command})`,
      );
    }
    console.log(`[image-layout] ${dest}: ${Date.now() - started} ms`);
  }

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "image-layout-"));
    chmodSync(work, 0o755); // Root-owned and world-readable, as an image layer.
    app = join(work, "app");
    mkdirSync(app);
    await Promise.all(all(final, "COPY").map((i) => produce(copyArgs(i.args))));
  }, 180_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("holds package.json, dist/ and the production dependencies, no dev dependency", () => {
    expect(readdirSync(app).sort()).toEqual(["dist", "node_modules", "package.json"]);
    const script = entrypoint.find((word) => word.endsWith(".js"));
    expect(script && existsSync(join(app, script)), `ENTRYPOINT ${entrypoint.join(" ")}`).toBe(true);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    for (const name of Object.keys(pkg.dependencies))
      expect(existsSync(join(app, "node_modules", name)), name).toBe(true);
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, "package-lock.json"), "utf8")) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = Object.keys(lock.packages).filter((path) => lock.packages[path]?.dev);
    for (const name of ["typescript", "vitest", "@biomejs/biome", "node"])
      expect(devOnly).toContain(`node_modules/${name}`);
    expect(
      devOnly.filter((path) => existsSync(join(app, path))),
      "dev dependencies in the image",
    ).toEqual([]);
  });

  it(`runs its ENTRYPOINT as uid ${uid} on a read-only root: health and metrics served, not ready without a cluster, exit 0 on SIGTERM`, async () => {
    if (unavailable) {
      throw new Error(`cannot start the layout as the image's USER on a read-only root: ${unavailable}`);
    }
    expect(existsSync(pinnedNode), "run npm ci: it installs the pinned node").toBe(true);
    // No cluster: port 1 on loopback refuses at once. (JSON is YAML.)
    const kubeconfig = join(work, "kubeconfig");
    const none = { cluster: "none", user: "none" };
    const server = { server: "https://127.0.0.1:1", "insecure-skip-tls-verify": true };
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        clusters: [{ name: "none", cluster: server }],
        users: [{ name: "none", user: { token: "none" } }],
        contexts: [{ name: "none", context: none }],
        "current-context": "none",
      }),
      { mode: 0o600 },
    );
    chownSync(kubeconfig, uid, gid);
    // The pinned node, bind-mounted where the image's user can reach it whatever the checkout's modes.
    const bin = join(work, "bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "node"), "");
    const script = [
      `mount --bind ${quote(pinnedNode)} ${quote(join(bin, "node"))}`,
      `mount --bind ${quote(app)} ${quote(app)}`,
      ...[join(bin, "node"), app, ...writableMounts(readFileSync("/proc/self/mountinfo", "utf8"))].map(
        (path) => `mount -o remount,bind,ro ${quote(path)}`,
      ),
      `cd ${quote(app)}`,
      `exec setpriv --reuid=${uid} --regid=${gid} --clear-groups -- "$@"`,
    ].join(" && ");
    const args = [...entrypoint, "--health-bind-address=127.0.0.1:0"];
    const child: ChildProcess = spawn("unshare", ["--mount", "--", "sh", "-c", script, "sh", ...args], {
      env: { PATH: `${bin}:/usr/bin:/bin`, HOME: "/", ...imageEnv, KUBECONFIG: kubeconfig },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    for (const stream of [child.stdout, child.stderr]) {
      stream?.on("data", (chunk: Buffer) => {
        output += chunk;
      });
    }
    const exited = new Promise<number | string | null>((resolveExit) => {
      child.on("exit", (code, signal) => resolveExit(code ?? signal));
      child.on("error", (error) => resolveExit(error.message));
    });
    const until = async <T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> => {
      for (const deadline = Date.now() + ms; ; ) {
        if (child.exitCode !== null || child.signalCode !== null)
          throw new Error(`exited while waiting for ${what}:\n${output}`);
        const value = await probe().catch(() => undefined);
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error(`no ${what} within ${ms} ms:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      const port = await until(
        "health port in the log",
        30_000,
        async () => /"healthPort":(\d+)/.exec(output)?.[1],
      );
      const get = async (path: string) => {
        const response = await fetch(`http://127.0.0.1:${port}${path}`);
        return {
          status: response.status,
          type: response.headers.get("content-type"),
          body: await response.text(),
        };
      };

      // The process (unshare and setpriv exec'd into node) is the image's user, on read-only mounts only.
      const proc = (file: string) => readFileSync(`/proc/${child.pid}/${file}`, "utf8");
      expect(proc("cmdline").split("\0")).toEqual([...args, ""]);
      expect(readlinkSync(`/proc/${child.pid}/cwd`)).toBe(app);
      expect(/^Uid:\s+(.*)$/m.exec(proc("status"))?.[1]?.split(/\s+/)).toEqual(Array(4).fill(String(uid)));
      expect(/^Gid:\s+(.*)$/m.exec(proc("status"))?.[1]?.split(/\s+/)).toEqual(Array(4).fill(String(gid)));
      expect(/^Groups:(.*)$/m.exec(proc("status"))?.[1]?.trim()).toBe("");
      expect(writableMounts(proc("mountinfo"))).toEqual([]);

      expect((await get("/healthz")).status).toBe(200);
      const readyz = await until("/readyz with a reason", 10_000, async () => {
        const response = await get("/readyz");
        return response.status !== 200 && /not ready: \S/.test(response.body) ? response : undefined;
      });
      expect(readyz.status).toBe(503);
      expect(readyz.body).toMatch(/caches not synced/);
      const metrics = await get("/metrics");
      expect(metrics.status).toBe(200);
      expect(metrics.type).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(metrics.body).toMatch(/^# TYPE leader_election_master_status gauge$/m);

      // The HEALTHCHECK (for `docker run`) finds the port through HEALTH_BIND_ADDRESS.
      const healthcheck = all(final, "HEALTHCHECK").at(-1)?.args ?? "";
      const [command = "", ...rest] =
        execForm(healthcheck.slice(healthcheck.indexOf("CMD") + 3).trim()) ?? [];
      await run(command, rest, {
        env: { PATH: `${dirname(pinnedNode)}:/usr/bin:/bin`, HEALTH_BIND_ADDRESS: `127.0.0.1:${port}` },
        timeout: 10_000,
      });

      // Still running, and it never tried to write: every filesystem it sees is read-only.
      expect(child.exitCode).toBeNull();
      expect(output).not.toMatch(/EROFS|EACCES|read-only file system/i);
      child.kill("SIGTERM");
      const deadline = new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`no exit within 25 s of SIGTERM:\n${output}`)), 25_000).unref(),
      );
      expect(await Promise.race([exited, deadline])).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    }
  }, 90_000);
});
