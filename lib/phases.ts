// The phases of a run, named as the DataMover operator names its status
// phases; local mode adds Transferring (the operator's Job runs while its
// DataMover stays in CreatingPod).
export const OPERATOR_PHASES = [
  'CreatingClonedPVC',
  'ClonedPVCReady',
  'CreatingPod',
  'CleaningUp',
  'Completed',
  'Failed',
] as const;

/** The phases a run spends time in (datamover_phase_duration_seconds). */
export const TIMED_PHASES = [
  'CreatingClonedPVC',
  'ClonedPVCReady',
  'CreatingPod',
  'Transferring',
  'CleaningUp',
] as const;

export type Phase = (typeof OPERATOR_PHASES)[number] | (typeof TIMED_PHASES)[number];
