// Turns errors from the Kubernetes API (client-node's ApiException, network
// failures) into a UserError that names what was refused and what to do.
// Response headers and bodies are never printed: only the Status message's
// reason, which the API server writes for humans and which carries no secret.
import { ApiException } from '@kubernetes/client-node';
import { UserError } from '../errors.ts';

export interface ApiAction {
  verb: 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';
  /** Plural resource, e.g. "persistentvolumeclaims" or "datamovers.datamover.a-cup-of.coffee". */
  resource: string;
  name?: string;
  namespace?: string;
  /** The API server's URL, for connection errors. */
  server?: string;
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'DNS lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  CERT_HAS_EXPIRED: 'its TLS certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its TLS certificate is self-signed and not trusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'its TLS certificate is not trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its TLS certificate is not trusted',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its TLS certificate does not match the host name',
};

// Worth another try: the server restarting or overloaded, a connection cut. Not
// a wrong address, a refused certificate or the user's own --request-timeout.
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EPIPE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const TRANSIENT_STATUS = new Set([429, 500, 502, 503, 504]);

export function isTransientApiError(err: unknown): boolean {
  const status = apiStatusCode(err);
  if (status !== undefined) return TRANSIENT_STATUS.has(status);
  for (let current = err, depth = 0; current && depth < 6; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSIENT_NETWORK_CODES.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

export function apiStatusCode(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

export function isNotFound(err: unknown): boolean {
  return apiStatusCode(err) === 404;
}

/** For deletes and lookups where "already gone" is fine: rethrows anything but a 404 (raw or mapped). */
export function ignoreNotFound(err: unknown): undefined {
  if (isNotFound(err) || isNotFound((err as { cause?: unknown })?.cause)) return undefined;
  throw err;
}

/** A pod that the namespace's Pod Security admission (pod-security.kubernetes.io/enforce) refused. */
export function isPodSecurityRefusal(err: unknown): boolean {
  for (let current = err, depth = 0; current && depth < 4; depth++) {
    if (/violates PodSecurity/.test(statusMessage(current) ?? '')) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

export function isConflict(err: unknown): boolean {
  return apiStatusCode(err) === 409;
}

export function describeApiError(err: unknown, action: ApiAction): UserError {
  if (err instanceof UserError) return err;
  const status = apiStatusCode(err);
  const target = describeTarget(action);
  const reason = statusMessage(err);
  switch (status) {
    case 401:
      return new UserError(
        `the API server rejected the credentials (Unauthorized) while trying to ${action.verb} ${target}`,
        'log in again or refresh the credentials of the current context',
        { cause: err },
      );
    case 403:
      if (reason && /violates PodSecurity/.test(reason))
        return new UserError(
          `the namespace's Pod Security admission refused ${target}: ${reason}`,
          'pick a --run-as the namespace admits, or ask an admin to relax its pod-security.kubernetes.io/enforce label',
          { cause: err },
        );
      return new UserError(
        `forbidden: you may not ${action.verb} ${action.resource}${inNamespace(action)}`,
        `ask a cluster admin for a Role that allows it (check with "kubectl auth can-i ${action.verb} ` +
          `${action.resource}${action.namespace ? ` -n ${action.namespace}` : ''}")`,
        { cause: err },
      );
    case 404:
      return new UserError(
        `${target} not found`,
        action.name
          ? 'check the name and the namespace (-n)'
          : 'check that the resource type is installed in the cluster',
        { cause: err },
      );
    case 409:
      return new UserError(`${target} already exists or was changed concurrently`, 'pick another name, or retry', {
        cause: err,
      });
    case 422:
    case 400:
      return new UserError(
        `the API server refused to ${action.verb} ${target}: ${reason ?? 'invalid object'}`,
        'fix the values named above',
        { cause: err },
      );
    case 429:
    case 503:
      return new UserError(
        `the API server is overloaded or unavailable (HTTP ${status}) while trying to ${action.verb} ${target}`,
        'retry in a moment',
        { cause: err },
      );
  }
  const network = networkReason(err);
  if (network) {
    return new UserError(
      `cannot reach the Kubernetes API server${action.server ? ` at ${action.server}` : ''} (${network})`,
      'check that the cluster is running and that --context/--kubeconfig point to it',
      { cause: err },
    );
  }
  if (status !== undefined) {
    return new UserError(
      `the API server answered HTTP ${status} while trying to ${action.verb} ${target}${reason ? `: ${reason}` : ''}`,
      'rerun with -v=6 for details',
      { cause: err },
    );
  }
  return new UserError(`failed to ${action.verb} ${target}: ${firstLine(err)}`, 'rerun with -v=6 for details', {
    cause: err,
  });
}

function describeTarget(action: ApiAction): string {
  const what = action.name ? `${singular(action.resource)} "${action.name}"` : action.resource;
  return `${what}${inNamespace(action)}`;
}

function inNamespace(action: ApiAction): string {
  return action.namespace ? ` in namespace "${action.namespace}"` : '';
}

function singular(resource: string): string {
  const [plural = resource] = resource.split('.');
  return plural.endsWith('ses') ? plural.slice(0, -2) : plural.replace(/s$/, '');
}

/** The Status object's message, when the body is one; the body is never shown whole. */
function statusMessage(err: unknown): string | undefined {
  if (!(err instanceof ApiException)) return undefined;
  let body: unknown = err.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  const message = (body as { kind?: string; message?: unknown })?.message;
  return typeof message === 'string' ? message.split('\n')[0] : undefined;
}

function networkReason(err: unknown): string | undefined {
  let current: unknown = err;
  for (let depth = 0; current && depth < 6; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES[code]) return NETWORK_CODES[code];
    if ((current as Error).name === 'AbortError' || (current as Error).name === 'TimeoutError')
      return 'request timed out (--request-timeout)';
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0] ?? '';
}
