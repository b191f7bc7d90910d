// `kubectl datamover check-access`: may the current user do what each mode
// needs in the namespace (and cluster-wide)? One OK/FAIL line per permission, with the Role (or
// ClusterRole) of docs/rbac.yaml that grants it; exit 1 when anything is missing. What only an option
// needs (--source snapshot) is a WARN line when missing, and does not fail the check.
import type { CommandContext } from '../context.ts';
import { UsageError } from '../errors.ts';
import { describePermission, missingPermissions } from '../kube/access.ts';
import { MODES, type Mode } from '../kube/permissions.ts';
import { parseOutputFormat, renderStructured } from '../output/format.ts';
import { renderCheckResults, type CheckResult } from './result.ts';

export interface CheckAccessFlags {
  mode: string;
}

export async function runCheckAccessCommand(ctx: CommandContext, flags: CheckAccessFlags): Promise<void> {
  const format = parseOutputFormat(ctx.output, ['text', 'json', 'yaml']);
  const modes = modesOf(flags.mode);
  const kube = await ctx.kube();
  const results: CheckResult[] = [];
  for (const mode of modes) {
    const missing = new Set((await missingPermissions(kube, kube.namespace, MODES[mode])).map(describePermission));
    for (const p of MODES[mode]) {
      const permission = describePermission(p);
      const what = `${mode} mode: ${permission} ${p.cluster ? 'cluster-wide' : `in namespace "${kube.namespace}"`}`;
      // Cluster-scoped resources are granted by a ClusterRole (with a ClusterRoleBinding), never a Role.
      const role = p.cluster ? `ClusterRole ${clusterRoleOf(mode)}` : `Role datamover-${mode}`;
      const fix = `bind the ${role} of docs/rbac.yaml${p.onlyFor ? ` (only ${p.onlyFor} needs it)` : ''}`;
      // What only an option needs is a warning: the mode works without it.
      results.push(missing.has(permission) ? { ok: false, warn: Boolean(p.onlyFor), what, fix } : { ok: true, what });
    }
  }
  const failed = results.some((r) => !r.ok && !r.warn);
  ctx.out(
    format === 'text' ? renderCheckResults(results) : await renderStructured({ ok: !failed, checks: results }, format),
  );
  if (failed) process.exitCode = 1;
}

/** The ClusterRole of docs/rbac.yaml that grants a mode's cluster-scoped permissions. */
export function clusterRoleOf(mode: Mode): string {
  return `datamover-${mode}-cluster`;
}

function modesOf(flag: string): Mode[] {
  if (flag === 'all') return Object.keys(MODES) as Mode[];
  if (flag in MODES) return [flag as Mode];
  throw new UsageError(`unknown --mode "${flag}"`, `use one of ${[...Object.keys(MODES), 'all'].join(', ')}`);
}
