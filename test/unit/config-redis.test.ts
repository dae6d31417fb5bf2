/** Where the store lives: REDIS_URL, REDIS_CLUSTER_NODES (CONTRACT), never both; a cluster-safe prefix. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';

const base = { NODE_ENV: 'test' };

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ ...base, ...env });
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
}

test('REDIS_URL: one Redis; neither: the in-process store', () => {
  assert.deepEqual(loadConfig({ ...base, REDIS_URL: 'redis://127.0.0.1:6379/0' }).redis, {
    url: 'redis://127.0.0.1:6379/0',
  });
  assert.equal(loadConfig(base).redis, null);
  assert.equal(loadConfig({ ...base, REDIS_URL: '', REDIS_CLUSTER_NODES: ' ' }).redis, null);
});

test('REDIS_CLUSTER_NODES: seed nodes, host:port, IPv6 in brackets', () => {
  const config = loadConfig({ ...base, REDIS_CLUSTER_NODES: '127.0.0.1:7001, redis-0.internal:6379,[::1]:7003' });
  assert.deepEqual(config.redis, {
    clusterNodes: [
      { host: '127.0.0.1', port: 7001 },
      { host: 'redis-0.internal', port: 6379 },
      { host: '::1', port: 7003 },
    ],
  });
  assert.equal(config.redisUrl, null);
});

test('bad cluster settings stop the process with a line naming the variable', () => {
  const both = problems({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER_NODES: '127.0.0.1:7001' });
  assert.deepEqual(both, ['REDIS_URL and REDIS_CLUSTER_NODES are both set: set one of them']);
  for (const bad of ['127.0.0.1', '127.0.0.1:0', 'host:99999', 'a:1,,b:2', 'redis://h:1']) {
    const found = problems({ REDIS_CLUSTER_NODES: bad });
    assert.equal(found.length, 1, `${bad}: ${found.join('; ')}`);
    assert.match(found[0]!, /^REDIS_CLUSTER_NODES must be host:port entries/);
  }
  // A brace in the prefix would become every key's hash tag on a cluster; fine on one Redis.
  assert.deepEqual(problems({ REDIS_CLUSTER_NODES: '127.0.0.1:7001', REDIS_PREFIX: 'chat{a}:' }), [
    'REDIS_PREFIX must not contain { or } with REDIS_CLUSTER_NODES (got "chat{a}:")',
  ]);
  assert.deepEqual(problems({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PREFIX: 'chat{a}:' }), []);
});
