/**
 * The per-user event budget (CONTRACT: 50 events a second, bursts of 100, across all the user's
 * sockets and nodes): a token bucket per user, in Redis when there is one (one Lua call, Redis's
 * clock, so node clocks do not matter), else in process. An event refused for the budget takes
 * no token.
 */
import type { RedisClient } from '../store/redis-client.js';
import type { Ack } from '../shared/events.js';
import { ERRORS } from '../shared/limits.js';
import { textPayload } from '../shared/schemas.js';
import type { ChatStore } from '../store/types.js';

export interface EventBudget {
  /** Takes one token for the user's event; false when the bucket is empty (refuse the event). */
  take(uid: string): Promise<boolean>;
}

export interface BudgetOptions {
  perSecond: number;
  burst: number;
}

/** KEYS: the user's bucket (hash t = tokens, ts = ms). ARGV: per second, burst. Returns 1 or 0. */
const TAKE = `#!lua
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local ok = 0
if tokens >= 1 then
  tokens = tokens - 1
  ok = 1
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return ok
`;

type Scripts = { chatBudgetTake(key: string, perSecond: number, burst: number): Promise<number> };

/** Buckets kept in process at most before full ones are dropped (a full bucket is no bucket). */
const MEMORY_SWEEP_AT = 10_000;

export function createEventBudget(
  redis: RedisClient | null,
  key: (uid: string) => string,
  opts: BudgetOptions,
): EventBudget {
  if (redis) {
    redis.defineCommand('chatBudgetTake', { numberOfKeys: 1, lua: TAKE });
    const cmd = redis as unknown as Scripts;
    return { take: async (uid) => (await cmd.chatBudgetTake(key(uid), opts.perSecond, opts.burst)) === 1 };
  }
  const buckets = new Map<string, { tokens: number; ts: number }>();
  const refill = (b: { tokens: number; ts: number }, now: number): void => {
    b.tokens = Math.min(opts.burst, b.tokens + (Math.max(0, now - b.ts) * opts.perSecond) / 1000);
    b.ts = now;
  };
  return {
    async take(uid) {
      const now = Date.now();
      if (buckets.size >= MEMORY_SWEEP_AT) {
        for (const [id, b] of buckets) {
          refill(b, now);
          if (b.tokens >= opts.burst) buckets.delete(id);
        }
      }
      const b = buckets.get(uid) ?? { tokens: opts.burst, ts: now };
      buckets.set(uid, b);
      refill(b, now);
      if (b.tokens < 1) return false;
      b.tokens -= 1;
      return true;
    },
  };
}

/**
 * The answer to an event over the budget: `rate limited` — except for a `text` resent with the
 * `client_id` of a message already stored, which answers that message (CONTRACT: a refusal
 * other than `service unavailable` says nothing was stored, which would not be true).
 */
export function overBudgetAnswer(store: ChatStore) {
  return async (uid: string, event: string, payload: unknown): Promise<Ack<{ id: string; time: string }>> => {
    const refused = { ok: false as const, error: ERRORS.rateLimited };
    if (event !== 'text') return refused;
    const parsed = textPayload.safeParse(payload);
    if (!parsed.success || parsed.data.client_id === undefined) return refused;
    const stored = await store.findClientId(parsed.data.room_id, uid, parsed.data.client_id);
    return stored ? { ok: true, ...stored } : refused;
  };
}
