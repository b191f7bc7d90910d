// Times the phases of a run, named like the operator's status phases, for the
// datamover_phase_duration_seconds metric. Entering a phase ends the previous one.
import type { Phase } from '../phases.ts';

export class PhaseClock {
  readonly seconds = new Map<Phase, number>();
  private current?: { phase: Phase; since: number };

  private readonly now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.now = now;
  }

  enter(phase: Phase): void {
    this.stop();
    this.current = { phase, since: this.now() };
  }

  stop(): void {
    if (!this.current) return;
    const { phase, since } = this.current;
    this.seconds.set(phase, (this.seconds.get(phase) ?? 0) + (this.now() - since) / 1000);
    this.current = undefined;
  }
}
