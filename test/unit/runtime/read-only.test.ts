import { describe, expect, it } from "vitest";
import { mutableCopy, readOnly, readOnlyAssertionsEnabled } from "../../../src/runtime/read-only.ts";

describe("read-only helpers", () => {
  it("deep-freezes when assertions are on, so a mutation throws where it happens", () => {
    const obj = readOnly({ metadata: { labels: { a: "1" } }, spec: { list: [{ x: 1 }] } }, true);
    expect(() => {
      obj.metadata.labels.a = "2";
    }).toThrow(TypeError);
    expect(() => {
      obj.spec.list.push({ x: 2 });
    }).toThrow(TypeError);
  });

  it("leaves the object alone when assertions are off", () => {
    const obj = readOnly({ metadata: { labels: { a: "1" } } }, false);
    obj.metadata.labels.a = "2";
    expect(obj.metadata.labels.a).toBe("2");
  });

  it("gives a mutable deep copy of a frozen object", () => {
    const frozen = readOnly({ metadata: { labels: { a: "1" } } }, true);
    const copy = mutableCopy(frozen);
    copy.metadata.labels.a = "2";
    expect(copy.metadata.labels.a).toBe("2");
    expect(frozen.metadata.labels.a).toBe("1");
  });

  it("turns assertions on in development and tests, or by MMO_ASSERT_READONLY", () => {
    expect(readOnlyAssertionsEnabled({ NODE_ENV: "test" })).toBe(true);
    expect(readOnlyAssertionsEnabled({ NODE_ENV: "development" })).toBe(true);
    expect(readOnlyAssertionsEnabled({ NODE_ENV: "production" })).toBe(false);
    expect(readOnlyAssertionsEnabled({})).toBe(false);
    expect(readOnlyAssertionsEnabled({ NODE_ENV: "production", MMO_ASSERT_READONLY: "1" })).toBe(true);
    expect(readOnlyAssertionsEnabled({ NODE_ENV: "test", MMO_ASSERT_READONLY: "0" })).toBe(false);
  });
});
