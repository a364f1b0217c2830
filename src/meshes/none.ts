// "none": unmeshed. It has no markers of its own; being on "none" means being on no other mesh,
// which only the registry can tell (podOnMesh, namespaceOnMesh), so this driver answers false.
import type { MeshDriver } from "./driver.ts";
import { noChange } from "./markers.ts";

export const noneDriver: MeshDriver = {
  name: "none",
  namespaceLabelKeys: [],
  namespaceAnnotationKeys: [],
  templateMarkerKeys: { labels: [], annotations: [] },
  joinRequiresRestart: false,
  leaveRequiresRestart: false,
  enroll: () => noChange(),
  unenroll: () => noChange(),
  namespaceEnrolled: () => false,
  isMember: () => false,
  templateOptIns: () => [],
  controlPlane: () => [],
  memberMarks: () => ({ containers: [], annotations: {} }),
};
