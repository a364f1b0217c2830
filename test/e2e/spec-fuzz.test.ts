// The same fuzzed specs as test/unit/api/spec-fuzz.test.ts, a sample of 300, held against the
// real apiserver: the CRD's schema and CEL rules accept exactly the specs parseSpec accepts
// (a server-side dry-run create, so nothing is stored).
import { beforeAll, describe, expect, it } from "vitest";
import { API_VERSION, GROUP, KIND, PLURAL, VERSION } from "../../src/api/constants.ts";
import { parseSpec } from "../../src/api/schema.ts";
import { statusCode } from "../../src/runtime/api-error.ts";
import { fuzzSpec } from "../sim/spec-fuzz.ts";
import { installCrd } from "../support/crd.ts";
import { e2eClients } from "../support/kube.ts";

const SAMPLE = 300;
const clients = e2eClients();

beforeAll(async () => {
  await installCrd();
});

async function apiserverAccepts(
  seed: number,
  spec: unknown,
): Promise<{ accepted: boolean; message: string }> {
  try {
    await clients.custom.createClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      dryRun: "All",
      body: { apiVersion: API_VERSION, kind: KIND, metadata: { name: `fuzz-${seed}` }, spec },
    });
    return { accepted: true, message: "" };
  } catch (error) {
    const code = statusCode(error);
    if (code !== 422 && code !== 400) throw error;
    const body = (error as { body?: unknown }).body;
    return { accepted: false, message: typeof body === "string" ? body : JSON.stringify(body) };
  }
}

describe("fuzzed specs on the real apiserver", () => {
  it(`agree with parseSpec on ${SAMPLE} of them`, async () => {
    const disagreements: string[] = [];
    let accepted = 0;
    for (let i = 0; i < SAMPLE; i++) {
      const seed = 1 + i * 33;
      const spec = fuzzSpec(seed);
      const zod = parseSpec(spec);
      const server = await apiserverAccepts(seed, spec);
      if (server.accepted) accepted++;
      if (zod.ok !== server.accepted) {
        disagreements.push(
          `seed ${seed}: parseSpec ${zod.ok ? "accepts" : `rejects (${zod.errors.join("; ")})`}, ` +
            `the apiserver ${server.accepted ? "accepts" : `rejects (${server.message.slice(0, 300)})`}: ${JSON.stringify(spec)}`,
        );
      }
    }
    console.log(
      `${SAMPLE} specs: ${accepted} accepted by the apiserver, ${disagreements.length} disagreements with parseSpec`,
    );
    expect(disagreements).toEqual([]);
  });
});
