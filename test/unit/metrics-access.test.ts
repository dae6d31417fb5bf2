/**
 * Who may read GET /metrics (src/http/set-up-metrics.ts), decided from the TCP peer, the client
 * address Express derives (`req.ip`: the peer unless the app trusts a proxy) and the
 * Authorization header. The end-to-end check with a real non-loopback peer is in
 * test/integration/metrics.test.ts; these cover the cases one machine cannot produce (a proxy on
 * the same host, IPv6).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { isLoopback, metricsAllowed } from '../../src/http/set-up-metrics.js';

const TOKEN = 'a'.repeat(40);

describe('metrics access', () => {
  it('knows loopback addresses, IPv4, IPv6 and IPv4-mapped', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) assert.equal(isLoopback(a), true, a);
    for (const a of ['192.0.2.2', '10.0.0.1', '::ffff:10.0.0.1', 'fe80::1', '1127.0.0.1', '', undefined])
      assert.equal(isLoopback(a), false, String(a));
  });

  it('lets a loopback client in, without a token', () => {
    assert.equal(metricsAllowed({ peer: '127.0.0.1', client: '127.0.0.1', authorization: undefined }, null), true);
    assert.equal(metricsAllowed({ peer: '::1', client: '::1', authorization: undefined }, TOKEN), true);
  });

  it('keeps out a remote client, whatever it claims in X-Forwarded-For when no proxy is trusted', () => {
    // Without `trust proxy`, req.ip is the peer: a forged header never reaches the decision.
    assert.equal(metricsAllowed({ peer: '192.0.2.9', client: '192.0.2.9', authorization: undefined }, TOKEN), false);
  });

  it('keeps out a browser reaching the node through a trusted proxy on the same host', () => {
    // The proxy's connection is loopback; the client it forwards for is not.
    assert.equal(metricsAllowed({ peer: '127.0.0.1', client: '203.0.113.7', authorization: undefined }, null), false);
  });

  it('keeps out a remote peer even when a trusted proxy chain says 127.0.0.1', () => {
    assert.equal(metricsAllowed({ peer: '192.0.2.9', client: '127.0.0.1', authorization: undefined }, null), false);
  });

  it('lets anyone in with the bearer token, no one with a wrong, partial or missing one', () => {
    const remote = { peer: '192.0.2.9', client: '192.0.2.9' };
    assert.equal(metricsAllowed({ ...remote, authorization: `Bearer ${TOKEN}` }, TOKEN), true);
    for (const authorization of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, TOKEN, `Basic ${TOKEN}`, 'Bearer '])
      assert.equal(metricsAllowed({ ...remote, authorization }, TOKEN), false, authorization);
    // No METRICS_TOKEN configured: no header opens it.
    assert.equal(metricsAllowed({ ...remote, authorization: 'Bearer null' }, null), false);
  });

  it('METRICS_TOKEN is optional, and refused when short or with spaces, naming the variable', () => {
    assert.equal(loadConfig({}).metricsToken, null);
    assert.equal(loadConfig({ METRICS_TOKEN: TOKEN }).metricsToken, TOKEN);
    for (const bad of ['short', `${'a'.repeat(20)} ${'b'.repeat(20)}`]) {
      assert.throws(
        () => loadConfig({ METRICS_TOKEN: bad }),
        (err: unknown) => err instanceof ConfigError && /^METRICS_TOKEN must/.test(err.problems[0]!),
      );
    }
  });
});
