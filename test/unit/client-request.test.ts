/** How the page words a failed request in its toasts: the reason itself, never "Error: …". */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reasonOf } from '../../src/client/request.js';

test('a refusal or failure is shown as its reason, without an "Error:" prefix', () => {
  assert.equal(reasonOf(new Error('rate limited')), 'rate limited');
  assert.equal(reasonOf('not a member'), 'not a member');
  // socket.io-client's own failures, in words a reader understands.
  assert.equal(reasonOf(new Error('operation has timed out')), 'no answer from the server');
  assert.equal(reasonOf(new Error('socket has been disconnected')), 'the connection was lost');
  assert.doesNotMatch(reasonOf(new TypeError('x')), /Error/);
});
