import assert from 'node:assert/strict';
import { PhaseClock } from '../../../lib/metrics/phase-clock.ts';
import { renderRunMetrics } from '../../../lib/metrics/prometheus-text.ts';
import { parsePushgatewayUrl, pushgatewayGroupUrl } from '../../../lib/metrics/sinks.ts';
import { UsageError } from '../../../lib/errors.ts';

/** A clock whose time only moves when the test says so. */
function steppedClock(): { clock: PhaseClock; advance: (ms: number) => void } {
  let now = 0;
  return {
    clock: new PhaseClock(() => now),
    advance: (ms) => {
      now += ms;
    },
  };
}

describe('PhaseClock', () => {
  it('adds the time of each phase, ending one when the next begins', () => {
    const { clock, advance } = steppedClock();
    clock.enter('CreatingClonedPVC');
    advance(1500);
    clock.enter('Transferring');
    advance(250);
    clock.enter('CreatingClonedPVC');
    advance(500);
    clock.stop();
    advance(9000);
    assert.deepEqual(
      [...clock.seconds],
      [
        ['CreatingClonedPVC', 2],
        ['Transferring', 0.25],
      ],
    );
  });
});

describe('renderRunMetrics', () => {
  it('counts the run under its status and lists only the phases it went through', () => {
    const { clock, advance } = steppedClock();
    clock.enter('CreatingPod');
    advance(1234);
    clock.stop();
    const text = renderRunMetrics(
      { status: 'failure', finishedAt: 1_700_000_000, bytesTransferred: 42, filesTransferred: 3, phases: clock },
      { namespace: 'ns', pvc: 'data' },
    );
    const lines = text.split('\n');
    assert.ok(
      lines.includes('datamover_data_sync_operations_total{namespace="ns",pvc="data",status="failure"} 1'),
      text,
    );
    assert.ok(
      lines.includes('datamover_data_sync_operations_total{namespace="ns",pvc="data",status="success"} 0'),
      text,
    );
    assert.ok(
      lines.includes('datamover_phase_duration_seconds{namespace="ns",pvc="data",phase="CreatingPod"} 1.234'),
      text,
    );
    assert.ok(!text.includes('phase="Transferring"'), text);
    assert.ok(lines.includes('datamover_bytes_transferred_total{namespace="ns",pvc="data"} 42'), text);
    assert.ok(lines.includes('datamover_last_run_timestamp_seconds{namespace="ns",pvc="data"} 1700000000'), text);
    assert.ok(text.endsWith('\n'));
  });

  it('declares every family once, before its samples', () => {
    const text = renderRunMetrics(
      { status: 'success', finishedAt: 1, bytesTransferred: 0, filesTransferred: 0, phases: new PhaseClock() },
      {},
    );
    const types = text.split('\n').filter((l) => l.startsWith('# TYPE'));
    assert.deepEqual(types, [
      '# TYPE datamover_data_sync_operations_total counter',
      '# TYPE datamover_bytes_transferred_total counter',
      '# TYPE datamover_files_transferred_total counter',
      '# TYPE datamover_last_run_timestamp_seconds gauge',
    ]);
  });

  it('escapes quotes, backslashes and newlines in label values', () => {
    const text = renderRunMetrics(
      { status: 'success', finishedAt: 1, bytesTransferred: 0, filesTransferred: 0, phases: new PhaseClock() },
      { pvc: 'a"b\\c\nd' },
    );
    assert.ok(text.includes('pvc="a\\"b\\\\c\\nd"'), text);
  });
});

describe('Pushgateway URLs', () => {
  it('groups by namespace and PVC under job datamover', () => {
    assert.equal(
      pushgatewayGroupUrl(new URL('http://gw:9091/'), { namespace: 'team a', pvc: 'data' }),
      'http://gw:9091/metrics/job/datamover/namespace/team%20a/pvc/data',
    );
  });

  it('refuses what is not an http(s) URL', () => {
    assert.throws(() => parsePushgatewayUrl('gw:9091'), UsageError);
    assert.throws(() => parsePushgatewayUrl('not a url'), UsageError);
    assert.equal(parsePushgatewayUrl('https://gw.example').protocol, 'https:');
  });
});
