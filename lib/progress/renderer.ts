// Progress of a flow's steps: listr2's task list on a terminal, plain lines on
// stderr otherwise (CI logs, pipes, -o json), nothing at all when quiet.
import { formatDuration } from '../format/duration.ts';
import { progressBar } from './transfer-progress.ts';

/**
 * Tells the renderer what a long step is doing now (shown in place, or every few seconds), and how
 * much of it is done (0 to 1) when that is known: a terminal shows a bar for it.
 */
export type Report = (detail: string, fraction?: number) => void;

/** A step as the renderer shows it: a title, then a summary on success. */
export interface ProgressStep {
  title: string;
  run(report: Report): Promise<string | undefined>;
}

export interface ProgressRenderer {
  run(steps: ProgressStep[]): Promise<void>;
}

export function chooseRenderer(options: { tty: boolean; quiet?: boolean }): ProgressRenderer {
  if (options.quiet)
    return {
      run: async (steps) => {
        for (const step of steps) await step.run(() => {});
      },
    };
  return options.tty ? listrRenderer() : plainRenderer((line) => process.stderr.write(`${line}\n`));
}

export function plainRenderer(write: (line: string) => void): ProgressRenderer {
  return {
    async run(steps) {
      for (const step of steps) {
        const started = Date.now();
        let lastReport = started;
        try {
          const summary = await step.run((detail) => {
            // Long steps report often; a log needs a line every few seconds at most.
            if (Date.now() - lastReport < 5000) return;
            lastReport = Date.now();
            write(`${step.title}: ${detail}`);
          });
          write(`${step.title}: done in ${formatDuration(Date.now() - started)}${summary ? ` (${summary})` : ''}`);
        } catch (err) {
          write(`${step.title}: failed after ${formatDuration(Date.now() - started)}`);
          throw err;
        }
      }
    },
  };
}

function listrRenderer(): ProgressRenderer {
  return {
    async run(steps) {
      const { Listr } = await import('listr2');
      const list = new Listr(
        steps.map((step) => ({
          title: step.title,
          task: async (_ctx: unknown, task: { output: string; title: string }) => {
            const started = Date.now();
            const summary = await step.run(
              (detail, fraction) =>
                (task.output = fraction === undefined ? detail : `${progressBar(fraction)} ${detail}`),
            );
            task.title = `${step.title} (${formatDuration(Date.now() - started)})${summary ? `: ${summary}` : ''}`;
          },
        })),
        { exitOnError: true, registerSignalListeners: false, rendererOptions: { collapseErrors: true } },
      );
      await list.run();
    },
  };
}
