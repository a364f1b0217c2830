// The marker helpers every driver builds on.
import { describe, expect, it } from "vitest";
import {
  applyChange,
  isNoChange,
  markersOf,
  markerValue,
  mergeChanges,
  onlyPresentRemovals,
  removeMarkers,
  setMarker,
} from "../../../src/meshes/markers.ts";
import { podLabel } from "../../../src/meshes/pod-facts.ts";

describe("markers", () => {
  it("reads own keys only, whatever the maps' prototype offers", () => {
    expect(markerValue(markersOf({}), "label", "constructor")).toBeUndefined();
    expect(markerValue(markersOf(null), "annotation", "toString")).toBeUndefined();
    expect(podLabel({ metadata: { labels: { a: "1" } } }, "hasOwnProperty")).toBeUndefined();
    expect(podLabel({ metadata: { labels: { a: "1" } } }, "a")).toBe("1");
  });

  it("merges changes in order: a later set undoes an earlier removal and the reverse", () => {
    const merged = mergeChanges(
      removeMarkers({ labels: ["a", "b"] }),
      setMarker("label", "a", "1"),
      removeMarkers({ labels: ["c"] }),
    );
    expect(merged).toEqual({
      set: { labels: { a: "1" }, annotations: {} },
      remove: { labels: ["b", "c"], annotations: [] },
    });
    expect(mergeChanges(setMarker("annotation", "x", "1"), removeMarkers({ annotations: ["x"] }))).toEqual({
      set: { labels: {}, annotations: {} },
      remove: { labels: [], annotations: ["x"] },
    });
  });

  it("limits removals to present keys when asked", () => {
    const current = { labels: { a: "1" }, annotations: {} };
    expect(removeMarkers({ labels: ["a", "b"], annotations: ["c"] }, current).remove).toEqual({
      labels: ["a"],
      annotations: [],
    });
    expect(onlyPresentRemovals(removeMarkers({ labels: ["a", "b"] }), current).remove.labels).toEqual(["a"]);
  });

  it("applies a change without touching its inputs", () => {
    const current = { labels: { a: "1", b: "2" }, annotations: { c: "3" } };
    const change = mergeChanges(removeMarkers({ labels: ["b"] }), setMarker("annotation", "d", "4"));
    expect(applyChange(current, change)).toEqual({ labels: { a: "1" }, annotations: { c: "3", d: "4" } });
    expect(current).toEqual({ labels: { a: "1", b: "2" }, annotations: { c: "3" } });
    expect(isNoChange(change, current)).toBe(false);
    expect(isNoChange(setMarker("label", "a", "1"), current)).toBe(true);
  });
});
