/**
 * The store as the rest of the node sees it: the same ChatStore, each method call timed into
 * the store latency histogram (by method, ok or error) and each newly stored message counted.
 * Made once in the composition root, so no handler or route knows metrics exist, and a method
 * added to ChatStore is timed without a change here.
 */
import { performance } from 'node:perf_hooks';
import type { Metrics } from '../metrics.js';
import type { ChatStore, PostResult } from './types.js';

/** Not store calls: lifecycle, and `kind` (a property). */
const UNTIMED = new Set<PropertyKey>(['close', 'constructor']);

export function instrumentStore(store: ChatStore, metrics: Metrics): ChatStore {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || UNTIMED.has(prop) || typeof prop !== 'string') return value;
      let fn = wrapped.get(prop);
      if (!fn) {
        const method = value as (...args: unknown[]) => unknown;
        fn = (...args: unknown[]): unknown => {
          const start = performance.now();
          const done = (ok: boolean): void => metrics.storeCall(prop, ok, (performance.now() - start) / 1000);
          let result: unknown;
          try {
            result = method.apply(target, args);
          } catch (err) {
            done(false);
            throw err;
          }
          if (!(result instanceof Promise)) {
            done(true);
            return result;
          }
          return result.then(
            (value: unknown) => {
              done(true);
              // A resend of a stored client_id answers the stored message with `message: null`.
              if (prop === 'postMessage' && (value as PostResult).ok && (value as { message: unknown }).message)
                metrics.messageStored();
              return value;
            },
            (err: unknown) => {
              done(false);
              throw err;
            },
          );
        };
        wrapped.set(prop, fn);
      }
      return fn;
    },
  });
}
