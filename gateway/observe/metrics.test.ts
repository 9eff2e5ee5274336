import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Gauge, Histogram, MetricsRegistry } from './metrics.ts';

test('renders counters, gauges and histograms in Prometheus text format', () => {
  const registry = new MetricsRegistry();
  const requests = registry.register(new Counter('fgm_requests_total', 'Requests by outcome'));
  const state = registry.register(new Gauge('fgm_breaker_open', 'Breaker open'));
  const latency = registry.register(new Histogram('fgm_spine_seconds', 'Spine latency', [0.1, 1]));
  requests.inc({ code: 'SUCCESS' });
  requests.inc({ code: 'SUCCESS' });
  requests.inc({ code: 'NO_RECORD_FOUND' });
  state.set(0);
  latency.observe(0.05);
  latency.observe(0.5);
  latency.observe(2);
  assert.equal(
    registry.render(),
    [
      '# HELP fgm_requests_total Requests by outcome',
      '# TYPE fgm_requests_total counter',
      'fgm_requests_total{code="SUCCESS"} 2',
      'fgm_requests_total{code="NO_RECORD_FOUND"} 1',
      '# HELP fgm_breaker_open Breaker open',
      '# TYPE fgm_breaker_open gauge',
      'fgm_breaker_open 0',
      '# HELP fgm_spine_seconds Spine latency',
      '# TYPE fgm_spine_seconds histogram',
      'fgm_spine_seconds_bucket{le="0.1"} 1',
      'fgm_spine_seconds_bucket{le="1"} 2',
      'fgm_spine_seconds_bucket{le="+Inf"} 3',
      'fgm_spine_seconds_sum 2.55',
      'fgm_spine_seconds_count 3',
      '',
    ].join('\n'),
  );
});

test('label values are escaped', () => {
  const c = new Counter('x_total', 'x');
  c.inc({ a: 'say "hi"\n' });
  assert.deepEqual(c.lines(), ['x_total{a="say \\"hi\\"\\n"} 1']);
});
