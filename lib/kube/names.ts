// Kubernetes object names (DNS-1123 subdomains), checked before any request.
import { UsageError } from '../errors.ts';

const DNS1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function validateName(name: string, what: string, maxLength = 253): void {
  if (name.length > maxLength || !DNS1123.test(name)) {
    throw new UsageError(
      `${what} "${name}" is not a valid name${name.length > maxLength ? ` (longer than ${maxLength} characters)` : ''}`,
      'use lower-case letters, digits, "-" and ".", starting and ending with a letter or digit',
    );
  }
}
