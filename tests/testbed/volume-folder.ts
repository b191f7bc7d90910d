// Where the files of a bed PV are: a hostPath PV (driver local-folder) names its folder; a CSI PV
// (driver csi-folder) carries it in its volumeAttributes, where a CSI node plugin would read it.
import type { V1PersistentVolume } from '@kubernetes/client-node';

export function pvFolder(pv: V1PersistentVolume | undefined): string | undefined {
  return pv?.spec?.hostPath?.path ?? pv?.spec?.csi?.volumeAttributes?.path;
}
