/**
 * Runs the app's Lua scripts: EVALSHA by the script's SHA-1, and EVAL once where Redis answers
 * NOSCRIPT (a restarted Redis, a new cluster master), which also loads it for the next calls.
 *
 * Not ioredis's `defineCommand`: ioredis copies every defined command onto each Pipeline it makes
 * (two properties per script), and with auto-pipelining it makes one Pipeline per tick and Redis
 * node. With the app's 22 scripts each of those Pipelines was an object of some 50 properties:
 * 8.3 KB per message outlived the young generation (a sampled profile of what survives
 * scavenges at 2,000 messages/s, bench/profile/alloc-hook.mjs with ALLOC_PROF_SURVIVORS=1).
 * EVALSHA is a built-in command, so the Pipelines stay plain.
 */
import { createHash } from 'node:crypto';
import type { RedisClient } from './redis-client.js';

export interface ScriptDef {
  /** null: a variable number, given as the call's first argument. */
  numberOfKeys: number | null;
  lua: string;
}

type Arg = string | number;
export type Script = (...args: Arg[]) => Promise<unknown>;

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

/**
 * One script: `(...keys, ...argv)`, as many keys first as `numberOfKeys` says; with `null`,
 * `(count, ...keys, ...argv)`.
 */
export function luaScript(redis: RedisClient, { numberOfKeys, lua }: ScriptDef): Script {
  const sha = createHash('sha1').update(lua).digest('hex');
  if (numberOfKeys === null)
    return (keys, ...args) =>
      redis
        .evalsha(sha, keys as number, ...args)
        .catch((err: unknown) => (isNoScript(err) ? redis.eval(lua, keys as number, ...args) : Promise.reject(err)));
  return (...args) =>
    redis
      .evalsha(sha, numberOfKeys, ...args)
      .catch((err: unknown) => (isNoScript(err) ? redis.eval(lua, numberOfKeys, ...args) : Promise.reject(err)));
}

/** Each definition's runner, under the same names. */
export function luaScripts<T extends Record<string, ScriptDef>>(redis: RedisClient, defs: T): Record<keyof T, Script> {
  return Object.fromEntries(Object.entries(defs).map(([name, def]) => [name, luaScript(redis, def)])) as Record<
    keyof T,
    Script
  >;
}
