// Labels and annotations the plugin puts on what it creates, so that leftovers
// can be found (kubectl get pvc,pod,volumesnapshot -l app.kubernetes.io/managed-by=kubectl-datamover).
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'kubectl-datamover' } as const;
export const SOURCE_PVC_LABEL = 'datamover.a-cup-of.coffee/source-pvc';
export const RUN_LABEL = 'datamover.a-cup-of.coffee/run';
export const LAST_BACKUP_ANNOTATION = 'datamover.a-cup-of.coffee/last-local-backup';

export function runLabels(sourcePvc: string, runId: string): Record<string, string> {
  return { ...MANAGED_BY, [SOURCE_PVC_LABEL]: sourcePvc, [RUN_LABEL]: runId };
}
