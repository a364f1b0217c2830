// Label selectors as the API server evaluates them for webhooks.
import type { V1LabelSelector } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { matchesLabelSelector } from "../../emulators/label-selector.ts";

describe("matchesLabelSelector", () => {
  const cases: Array<{
    selector: V1LabelSelector | undefined;
    labels: Record<string, string>;
    matches: boolean;
  }> = [
    { selector: undefined, labels: {}, matches: true },
    { selector: {}, labels: { a: "1" }, matches: true },
    { selector: { matchLabels: { a: "1" } }, labels: { a: "1", b: "2" }, matches: true },
    { selector: { matchLabels: { a: "1" } }, labels: { a: "2" }, matches: false },
    {
      selector: { matchExpressions: [{ key: "a", operator: "In", values: ["1", "2"] }] },
      labels: { a: "2" },
      matches: true,
    },
    {
      selector: { matchExpressions: [{ key: "a", operator: "In", values: ["1"] }] },
      labels: {},
      matches: false,
    },
    {
      selector: { matchExpressions: [{ key: "a", operator: "NotIn", values: ["1"] }] },
      labels: {},
      matches: true,
    },
    {
      selector: { matchExpressions: [{ key: "a", operator: "NotIn", values: ["1"] }] },
      labels: { a: "1" },
      matches: false,
    },
    { selector: { matchExpressions: [{ key: "a", operator: "Exists" }] }, labels: { a: "" }, matches: true },
    {
      selector: { matchExpressions: [{ key: "a", operator: "DoesNotExist" }] },
      labels: { a: "" },
      matches: false,
    },
    {
      selector: { matchExpressions: [{ key: "a", operator: "DoesNotExist" }] },
      labels: { b: "1" },
      matches: true,
    },
  ];
  it.each(cases)("%j", ({ selector, labels, matches }) => {
    expect(matchesLabelSelector(selector, labels)).toBe(matches);
  });

  it("rejects an unknown operator loudly", () => {
    expect(() => matchesLabelSelector({ matchExpressions: [{ key: "a", operator: "Gt" }] }, {})).toThrow(
      /Gt/,
    );
  });
});
