/**
 * The per-user event budget (CONTRACT: 50 events a second, bursts of 100, across all the user's
 * sockets and nodes): a token bucket per user, in Redis when there is one (one Lua call, Redis's
 * clock, so node clocks do not matter; scripts.ts BUDGET_FN), else in process. An event refused
 * for the budget takes no token. In Redis, a `text`'s token is taken by the store's posting
 * script with the rate limit instead (`inStore`; chat/message-handlers.ts).
 */
import { luaScripts } from '../store/lua.js';
import type { RedisClient } from '../store/redis-client.js';
import { BUDGET_TAKE } from '../store/scripts.js';
import type { Ack } from '../shared/events.js';
import { ERRORS } from '../shared/limits.js';
import { textPayload } from '../shared/schemas.js';
import type { ChatStore } from '../store/types.js';

export interface EventBudget {
  /** Takes one token for the user's event; false when the bucket is empty (refuse the event). */
  take(uid: string): Promise<boolean>;
  /**
   * Set where the bucket is in Redis: what the store's postMessage needs to take a `text`'s token
   * in its own first step, with the rate limit (PostOptions.budget). Null in process.
   */
  readonly inStore: BudgetOptions | null;
}

export interface BudgetOptions {
  perSecond: number;
  burst: number;
}

type Scripts = { chatBudgetTake(key: string, perSecond: number, burst: number): Promise<number> };

/** Buckets kept in process at most before full ones are dropped (a full bucket is no bucket). */
const MEMORY_SWEEP_AT = 10_000;

export function createEventBudget(
  redis: RedisClient | null,
  key: (uid: string) => string,
  opts: BudgetOptions,
): EventBudget {
  if (redis) {
    const cmd = luaScripts(redis, { chatBudgetTake: { numberOfKeys: 1, lua: BUDGET_TAKE } }) as unknown as Scripts;
    return {
      take: async (uid) => (await cmd.chatBudgetTake(key(uid), opts.perSecond, opts.burst)) === 1,
      inStore: { perSecond: opts.perSecond, burst: opts.burst },
    };
  }
  const buckets = new Map<string, { tokens: number; ts: number }>();
  const refill = (b: { tokens: number; ts: number }, now: number): void => {
    b.tokens = Math.min(opts.burst, b.tokens + (Math.max(0, now - b.ts) * opts.perSecond) / 1000);
    b.ts = now;
  };
  return {
    inStore: null,
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
