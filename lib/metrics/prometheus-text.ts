// The Prometheus text exposition format (version 0.0.4) for the metrics of one
// run. Metric names are the operator's, so dashboards and alerts work for both modes.
import type { PhaseClock } from './phase-clock.ts';
import { TIMED_PHASES } from '../phases.ts';

export interface RunMetrics {
  status: 'success' | 'failure';
  /** Seconds since the epoch when the run ended. */
  finishedAt: number;
  bytesTransferred: number;
  filesTransferred: number;
  phases: PhaseClock;
}

type Labels = Record<string, string>;
interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  samples: Array<[Labels, number]>;
}

/** Renders the run; `labels` go on every sample (the Pushgateway adds its grouping labels itself). */
export function renderRunMetrics(run: RunMetrics, labels: Labels): string {
  const families: Family[] = [
    {
      name: 'datamover_data_sync_operations_total',
      help: 'Data synchronization runs, by result.',
      type: 'counter',
      samples: (['success', 'failure'] as const).map((status) => [{ status }, run.status === status ? 1 : 0]),
    },
    {
      name: 'datamover_phase_duration_seconds',
      help: 'Seconds the run spent in each phase.',
      type: 'gauge',
      samples: TIMED_PHASES.filter((phase) => run.phases.seconds.has(phase)).map((phase) => [
        { phase },
        run.phases.seconds.get(phase)!,
      ]),
    },
    {
      name: 'datamover_bytes_transferred_total',
      help: 'Bytes sent to the destination by the run.',
      type: 'counter',
      samples: [[{}, run.bytesTransferred]],
    },
    {
      name: 'datamover_files_transferred_total',
      help: 'Files sent to the destination by the run.',
      type: 'counter',
      samples: [[{}, run.filesTransferred]],
    },
    {
      name: 'datamover_last_run_timestamp_seconds',
      help: 'When the run ended (seconds since the epoch).',
      type: 'gauge',
      samples: [[{}, run.finishedAt]],
    },
  ];
  return `${families
    .filter((family) => family.samples.length > 0)
    .map((family) =>
      [
        `# HELP ${family.name} ${family.help}`,
        `# TYPE ${family.name} ${family.type}`,
        ...family.samples.map(
          ([own, value]) => `${family.name}${formatLabels({ ...labels, ...own })} ${formatValue(value)}`,
        ),
      ].join('\n'),
    )
    .join('\n')}\n`;
}

function formatLabels(labels: Labels): string {
  const pairs = Object.entries(labels).map(
    ([key, value]) => `${key}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`,
  );
  return pairs.length ? `{${pairs.join(',')}}` : '';
}

function formatValue(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}
