import { ApiException } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { describeApiError, statusCode } from "../../../src/runtime/api-error.ts";

describe("describeApiError", () => {
  it("says verb, object, code, reason and message on one line", () => {
    const body = JSON.stringify({
      kind: "Status",
      reason: "NotFound",
      message: 'namespaces "mesh-migration-system" not found',
      code: 404,
    });
    const error = new ApiException(404, "Unknown API Status Code!", body, {
      "content-type": "application/json",
    });
    const line = describeApiError("create", "Lease mesh-migration-system/mmo", error);
    expect(line).toBe(
      'create Lease mesh-migration-system/mmo: 404 NotFound: namespaces "mesh-migration-system" not found',
    );
    expect(line).not.toContain("\n");
    expect(statusCode(error)).toBe(404);
  });

  it("keeps the message of an error of our own that carries a status but no body (a conflict we saw)", () => {
    const conflict = Object.assign(new Error("patch namespace shop: the object changed since it was read"), {
      code: 409,
    });
    expect(describeApiError("reconcile", "move", conflict)).toBe(
      "reconcile move: 409: patch namespace shop: the object changed since it was read",
    );
  });

  it("keeps the message of an error without a status", () => {
    expect(describeApiError("get", "Lease a/b", new Error("connect ECONNREFUSED 127.0.0.1:6443"))).toBe(
      "get Lease a/b: connect ECONNREFUSED 127.0.0.1:6443",
    );
  });
});
