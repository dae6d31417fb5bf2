/**
 * Sends the outbox (./state/outbox.ts): one message at a time, oldest first, each with its own
 * client_id every time it is sent, so the server stores it once and this tab's messages keep
 * their order. An answer that leaves the outcome unknown (`service unavailable`, no answer, the
 * connection lost) is sent again with the same client_id — at once after a reconnect, after a
 * pause while still connected. Any other refusal means nothing was stored: the message waits,
 * with its reason, for Retry or Discard. The outbox is kept in sessionStorage, per user, so a
 * reload neither loses nor doubles a message.
 */
import { ERRORS } from '../shared/limits.js';
import { nextToSend, queue, settle, fail } from './state/outbox.js';
import type { Pending } from './state/types.js';
import type { Store } from './store.js';
import type { Request } from './request.js';

const FIRST_PAUSE_MS = 1000;
const LONGEST_PAUSE_MS = 8000;

export interface Outbox {
  /** Shows the message at once and sends it when its turn comes. */
  send(roomId: string, text: string): void;
  /** The connection is ready (joined) or gone: sending starts or stops. */
  setReady(ready: boolean): void;
  /** Something may be waiting (e.g. a message retried). */
  kick(): void;
}

/**
 * A fresh client_id: 128 random bits in hex (crypto.randomUUID exists only in secure contexts;
 * getRandomValues everywhere).
 */
function newClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

const sleep = (ms: number): Promise<void> => new Promise((r) => window.setTimeout(r, ms));

const isPending = (p: unknown): p is Pending => {
  const q = p as Partial<Pending> | null;
  return (
    typeof q?.client_id === 'string' &&
    typeof q.room_id === 'string' &&
    typeof q.msg === 'string' &&
    typeof q.time === 'string' &&
    (q.state === 'sending' || q.state === 'failed')
  );
};

/** The outbox a reload left behind in this tab (sessionStorage is per tab, so no other tab sends it too). */
export function loadOutbox(key: string): Pending[] {
  try {
    const saved: unknown = JSON.parse(window.sessionStorage.getItem(key) ?? '[]');
    return Array.isArray(saved) ? saved.filter(isPending) : [];
  } catch {
    return [];
  }
}

export function createOutbox(store: Store, request: Request, storageKey: string): Outbox {
  let ready = false;
  let busy = false;

  store.subscribe((next, prev) => {
    if (next.outbox === prev.outbox) return;
    try {
      if (next.outbox.length === 0) window.sessionStorage.removeItem(storageKey);
      else window.sessionStorage.setItem(storageKey, JSON.stringify(next.outbox));
    } catch {
      // Storage full or disabled: the outbox still works until the page is closed.
    }
  });

  async function pump(): Promise<void> {
    if (busy) return;
    busy = true;
    let pause = FIRST_PAUSE_MS;
    try {
      for (let p = nextToSend(store.state); p && ready; p = nextToSend(store.state)) {
        const { client_id, room_id, msg } = p;
        let res;
        try {
          res = await request('text', { room_id, msg, client_id });
        } catch {
          // No answer in time, or the connection went: unknown, so the same client_id again.
          if (ready) await sleep(pause);
          pause = Math.min(pause * 2, LONGEST_PAUSE_MS);
          continue;
        }
        if (res.ok) {
          store.update((s) => settle(s, client_id, res.id, res.time));
          pause = FIRST_PAUSE_MS;
        } else if (res.error === ERRORS.unavailable) {
          await sleep(pause);
          pause = Math.min(pause * 2, LONGEST_PAUSE_MS);
        } else {
          store.update((s) => fail(s, client_id, res.error));
        }
      }
    } finally {
      busy = false;
    }
  }

  return {
    send(roomId, text) {
      const p = { client_id: newClientId(), room_id: roomId, msg: text, time: new Date().toISOString() };
      store.update((s) => queue(s, p));
      void pump();
    },
    setReady(r) {
      ready = r;
      if (r) void pump();
    },
    kick() {
      void pump();
    },
  };
}
