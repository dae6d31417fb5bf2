/**
 * The chat page's initial data block (views/chat.njk's #chat-data, filled by the json_script
 * filter): user text cannot end the <script> element or start markup, and it parses back intact.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonForScript } from '../../src/http/set-up-views.js';

test('json_script escapes what could end the data block and round-trips through JSON.parse', () => {
  const value = { msg: '</script><script>alert(1)</script> & <!-- \u2028\u2029 "q" \\' };
  const out = jsonForScript(value);
  assert.doesNotMatch(out, /[<>&\u2028\u2029]/);
  assert.deepEqual(JSON.parse(out), value);
});
