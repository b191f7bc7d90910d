// Byte sizes as Kubernetes and users write them ("256Mi", "1G", "512").
import { UsageError } from '../errors.ts';

const UNITS: Record<string, number> = {
  '': 1,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

export function parseSize(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)([KMGT]i?)?$/.exec(text.trim());
  if (!match)
    throw new UsageError(`invalid size "${text}" for ${flag}`, 'use a number with an optional unit, e.g. 256Mi or 1G');
  return Math.round(Number(match[1]) * UNITS[match[2] ?? '']!);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}
