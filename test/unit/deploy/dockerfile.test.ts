// The image's Dockerfile and build context, checked without a Docker engine: the rules the
// Deployment's restricted security context and the test runtime depend on.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import {
  copyArgs,
  dockerfileProblems,
  dockerignoreFilter,
  execForm,
  nodeMajorOf,
  parseDockerfile,
  resolvedImage,
  testNodeVersion,
} from "../../../scripts/image/dockerfile.ts";

const REPO_ROOT = resolve(import.meta.dirname, "../../..");
const dockerfile = parseDockerfile(readFileSync(resolve(REPO_ROOT, "Dockerfile"), "utf8"));
const testNodeMajor = Number(testNodeVersion(REPO_ROOT).split(".")[0]);
const final = dockerfile.stages.at(-1);
const finalInstructions = (keyword: string) =>
  (final?.instructions ?? []).filter((i) => i.keyword === keyword);

describe("Dockerfile", () => {
  it("satisfies every project rule", () => {
    expect(dockerfileProblems(dockerfile, { nodeMajor: testNodeMajor })).toEqual([]);
  });

  it("is a multi-stage build whose every base image has the tests' Node major, pinned", () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of dockerfile.stages) {
      const image = resolvedImage(dockerfile, stage);
      expect(nodeMajorOf(image), image).toBe(testNodeMajor);
      expect(image).toMatch(/:[^:/]+$/);
      expect(image).not.toMatch(/:latest$/);
    }
  });

  it("runs as a numeric non-root user", () => {
    const user = finalInstructions("USER").at(-1)?.args ?? "";
    expect(user).toMatch(/^\d+(:\d+)?$/);
    for (const id of user.split(":")) expect(Number(id)).toBeGreaterThan(0);
  });

  it("ships production dependencies installed with npm ci --omit=dev in an earlier stage", () => {
    const productionStage = dockerfile.stages.find((s) =>
      s.instructions.some((i) => i.keyword === "RUN" && /npm ci\b.*--omit=dev/.test(i.args)),
    );
    expect(productionStage?.name).toBeDefined();
    expect(productionStage).not.toBe(final);
    const copies = finalInstructions("COPY").map((i) => copyArgs(i.args));
    expect(copies).toContainEqual(
      expect.objectContaining({ flags: { from: productionStage?.name }, dest: "./node_modules" }),
    );
    expect(finalInstructions("RUN")).toEqual([]);
  });

  it("starts node on the compiled entry point directly, with the health port exposed", () => {
    const entrypoint = execForm(finalInstructions("ENTRYPOINT").at(-1)?.args ?? "");
    expect(entrypoint?.[0]).toBe("node");
    expect(entrypoint?.at(-1)).toBe("dist/main.js");
    expect(entrypoint).not.toContain("npm");
    expect(finalInstructions("EXPOSE").map((i) => i.args)).toContain("8080");
  });
});

describe("dockerfileProblems", () => {
  it("reports a root user, a floating tag, ADD, npm install and a single stage", () => {
    const bad = parseDockerfile(
      [
        "FROM node:latest",
        "ADD https://example.com/tool.tgz /opt/",
        "RUN npm install",
        "USER root",
        'ENTRYPOINT ["npm", "start"]',
      ].join("\n"),
    );
    const problems = dockerfileProblems(bad, { nodeMajor: 24 }).join("\n");
    expect(problems).toMatch(/not a multi-stage build/);
    expect(problems).toMatch(/pin a version tag/);
    expect(problems).toMatch(/use COPY, not ADD/);
    expect(problems).toMatch(/npm ci/);
    expect(problems).toMatch(/USER root: use a numeric uid/);
    expect(problems).toMatch(/run node directly/);
    expect(problems).toMatch(/does not EXPOSE 8080/);
  });

  it("reports a base image on another Node major and uid 0", () => {
    const bad = parseDockerfile(
      [
        "ARG NODE=22.11.0",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a Dockerfile ARG reference
        "FROM node:${NODE}-slim AS build",
        "RUN npm ci --omit=dev",
        "FROM gcr.io/distroless/nodejs22-debian12:nonroot",
        "COPY --from=build /app /app",
        "USER 0:0",
        "EXPOSE 8080",
        'ENTRYPOINT ["node", "/app/dist/main.js"]',
      ].join("\n"),
    );
    expect(dockerfileProblems(bad, { nodeMajor: 24 })).toEqual([
      "FROM node:22.11.0-slim: Node 22, but the tests run on Node 24",
      "FROM gcr.io/distroless/nodejs22-debian12:nonroot: Node 22, but the tests run on Node 24",
      "USER 0:0: must not be root",
    ]);
  });
});

describe("parseDockerfile", () => {
  it("joins continuation lines, skips comments between them and names stages", () => {
    const parsed = parseDockerfile(
      [
        "# syntax=docker/dockerfile:1",
        "FROM node:24-slim AS build",
        "RUN npm ci \\",
        "  # a comment inside the continuation",
        "  --omit=dev",
        "FROM build",
      ].join("\n"),
    );
    expect(parsed.stages.map((s) => [s.image, s.name])).toEqual([
      ["node:24-slim", "build"],
      ["build", undefined],
    ]);
    expect(parsed.stages[0]?.instructions[1]).toMatchObject({ keyword: "RUN", line: 3 });
    expect(parsed.stages[0]?.instructions[1]?.args).toMatch(/^npm ci\s+--omit=dev$/);
  });
});

describe(".dockerignore", () => {
  const included = dockerignoreFilter(readFileSync(resolve(REPO_ROOT, ".dockerignore"), "utf8"));

  it("sends the sources and the lockfile", () => {
    for (const path of ["package.json", "package-lock.json", "tsconfig.build.json", "src/main.ts"]) {
      expect(included(path), path).toBe(true);
    }
  });

  it("keeps local installs, build output, cluster keys, git and tests out of the context", () => {
    for (const path of [
      "node_modules/zod/package.json",
      "dist/main.js",
      ".cluster/pki/admin.key",
      ".git/config",
      "test/e2e/deploy.test.ts",
      "Dockerfile",
    ]) {
      expect(included(path), path).toBe(false);
    }
  });
});
