// The -o/--output value, decided once and passed down; printing structured
// objects lives here so that every command prints JSON and YAML the same way.
import { UsageError } from '../errors.ts';

export const OUTPUT_FORMATS = ['json', 'yaml', 'wide', 'name'] as const;
export type OutputFormat = 'text' | (typeof OUTPUT_FORMATS)[number];

export function parseOutputFormat<F extends OutputFormat>(
  value: string | undefined,
  allowed: readonly F[],
): F | 'text' {
  if (value === undefined || value === '') return 'text';
  if (!(allowed as readonly string[]).includes(value)) {
    const choices = allowed.filter((f) => f !== 'text').join('|');
    throw new UsageError(`unsupported output format "${value}"`, `use -o ${choices}`);
  }
  return value as F;
}

export async function renderStructured(value: unknown, format: 'json' | 'yaml'): Promise<string> {
  value = withoutManagedFields(value);
  if (format === 'json') return `${JSON.stringify(value, null, 2)}\n`;
  const { dumpYaml } = await import('@kubernetes/client-node');
  return dumpYaml(value);
}

/** Like kubectl, leave managedFields out of printed objects. */
function withoutManagedFields(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutManagedFields);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([key]) => key !== 'managedFields')
        .map(([key, inner]) => [key, withoutManagedFields(inner)]),
    );
  }
  return value;
}
