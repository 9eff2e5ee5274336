import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { createGatewayMetrics } from './gateway-metrics.ts';
import { createMetricsServer } from './metrics-server.ts';

const metrics = createGatewayMetrics();
const server = createMetricsServer(metrics.registry).listen(0, '127.0.0.1');
after(() => server.close());

async function scrape(): Promise<{ type: string | null; text: string }> {
  if (!server.listening) await once(server, 'listening');
  const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`);
  return { type: res.headers.get('content-type'), text: await res.text() };
}

test('GET /metrics serves the gateway metrics in Prometheus text format, labels as docs/operating.md documents', async () => {
  metrics.requests.inc({ code: 'SUCCESS', route: '/api/fgm-status', status: '200' });
  metrics.rateLimited.inc({ priority: 'batch', client: 'test-epr' });
  metrics.spineSeconds.observe(0.2);
  metrics.breakerState('open');
  const { type, text } = await scrape();
  assert.match(type ?? '', /^text\/plain; version=0\.0\.4/);
  assert.match(text, /^# TYPE fgm_gateway_requests_total counter$/m);
  assert.match(text, /^fgm_gateway_requests_total\{code="SUCCESS",route="\/api\/fgm-status",status="200"\} 1$/m);
  assert.match(text, /^fgm_gateway_spine_rate_limited_total\{priority="batch",client="test-epr"\} 1$/m);
  assert.match(text, /^fgm_gateway_spine_request_seconds_bucket\{le="0\.25"\} 1$/m);
  assert.match(text, /^fgm_gateway_spine_request_seconds_bucket\{le="0\.1"\} 0$/m);
  assert.match(text, /^fgm_gateway_spine_breaker_state\{state="open"\} 1$/m);
  assert.match(text, /^fgm_gateway_spine_breaker_state\{state="closed"\} 0$/m);
  // Every sample line is `name{labels} value` (the exposition format), whatever prom-client adds.
  for (const line of text.split('\n').filter((l) => l && !l.startsWith('#')))
    assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? (-?[0-9.e+-]+|NaN|Nan|[+-]Inf)$/, line);
});

test('the standard Node process metrics sit beside ours: event-loop lag, GC, heap, RSS', async () => {
  const { text } = await scrape();
  for (const name of [
    'nodejs_eventloop_lag_seconds',
    'nodejs_heap_size_used_bytes',
    'process_resident_memory_bytes',
    'process_cpu_seconds_total',
  ]) {
    assert.match(text, new RegExp(`^${name}(\\{[^}]*\\})? \\d`, 'm'), name);
  }
  assert.match(text, /^# TYPE nodejs_gc_duration_seconds histogram$/m);
});
