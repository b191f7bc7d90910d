import assert from 'node:assert/strict';
import { ApiException } from '@kubernetes/client-node';
import { isTransientApiError, describeApiError } from '../../../lib/kube/api-errors.ts';

const status = (code: number, message: string) => JSON.stringify({ kind: 'Status', code, message });

describe('describeApiError', () => {
  it('names the refused verb and resource on 403', () => {
    const err = describeApiError(new ApiException(403, 'Forbidden', status(403, 'pods is forbidden'), {}), {
      verb: 'create',
      resource: 'pods',
      namespace: 'team',
    });
    assert.match(err.message, /you may not create pods in namespace "team"/);
    assert.match(err.fix, /kubectl auth can-i create pods -n team/);
  });

  it('names the missing object on 404', () => {
    const err = describeApiError(new ApiException(404, 'Not Found', status(404, 'not found'), {}), {
      verb: 'get',
      resource: 'persistentvolumeclaims',
      name: 'data',
      namespace: 'team',
    });
    assert.equal(err.message, 'persistentvolumeclaim "data" in namespace "team" not found');
  });

  it('says the credentials were rejected on 401', () => {
    const err = describeApiError(new ApiException(401, 'Unauthorized', '', {}), { verb: 'list', resource: 'pods' });
    assert.match(err.message, /rejected the credentials/);
  });

  it('names the server when the connection is refused', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });
    const err = describeApiError(new TypeError('fetch failed', { cause }), {
      verb: 'get',
      resource: 'version',
      server: 'https://127.0.0.1:6443',
    });
    assert.equal(err.message, 'cannot reach the Kubernetes API server at https://127.0.0.1:6443 (connection refused)');
  });

  it('quotes the Status message on 422 but never the headers', () => {
    const err = describeApiError(
      new ApiException(422, 'Invalid', status(422, 'spec.secretName: Required value'), { 'set-cookie': 'session=abc' }),
      { verb: 'create', resource: 'datamovers', name: 'x' },
    );
    assert.match(err.message, /spec\.secretName: Required value/);
    assert.doesNotMatch(`${err.message} ${err.fix}`, /session=abc/);
  });

  it('retries what a restarting or overloaded server answers, not a refusal or a wrong name', () => {
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    });
    assert.equal(isTransientApiError(refused), true);
    assert.equal(isTransientApiError(new ApiException(503, 'Unavailable', '', {})), true);
    assert.equal(isTransientApiError(new ApiException(429, 'Too Many Requests', '', {})), true);
    assert.equal(isTransientApiError(new ApiException(403, 'Forbidden', '', {})), false);
    assert.equal(isTransientApiError(new ApiException(404, 'Not Found', '', {})), false);
    const unknownHost = new TypeError('fetch failed', {
      cause: Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }),
    });
    assert.equal(isTransientApiError(unknownHost), false);
  });
});
