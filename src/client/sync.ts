/**
 * Catch-up that scales. On every (re)connect: `joined` (its answer lists the user's rooms) →
 * rooms no longer listed leave the page → the rooms the page has are caught up with `catch_up`,
 * up to LIMITS.catchUpMaxRooms rooms per event, one event after another, each room from its
 * resume mark, paging on with `history {after}` for rooms answered `more`. Rooms new to the page
 * are listed from `joined`'s summary (their messages are loaded when opened, ./open-room.ts), and
 * every room takes the summary's read mark and unread count. On `resync` the same catch-up runs
 * without `joined`. So a user in 1,000 rooms sends 10 `catch_up` events, never hundreds at once (the
 * server refuses an event when 256 wait in one socket's queue, and budgets events per user).
 */
import { ERRORS, LIMITS } from '../shared/limits.js';
import { keepRooms } from './state/outbox.js';
import { caughtUp } from './state/marks.js';
import { applySummaries } from './state/reads.js';
import { receive, removeRoom } from './state/rooms.js';
import type { ChatState } from './state/types.js';
import type { Store } from './store.js';
import { reasonOf, type Request } from './request.js';

/** `history {after}` pages per room at most (a room keeps about 1,000 messages). */
const PAGES_PER_ROOM = 50;
/** A request refused "not now" is asked again this many times, after 0.5, 1, 2, 4, 8 s. */
const RETRIES = 5;
const FIRST_PAUSE_MS = 500;

export interface SyncDeps {
  store: Store;
  request: Request;
  /** After `joined`: the socket is in every room (e.g. the outbox may send). */
  onJoined(): void;
  /** After a whole sync: every room is caught up. */
  onSynced(): void;
  showError(text: string): void;
}

export interface Sync {
  /** On connect: join, catch up, load new rooms. */
  start(): void;
  /** On `resync`: catch up every room again, without `joined`. */
  catchUp(): void;
  /** On disconnect: whatever runs now is abandoned (its requests fail with the connection). */
  stop(): void;
}

class Stale extends Error {}

export function createSync({ store, request, onJoined, onSynced, showError }: SyncDeps): Sync {
  let generation = 0;
  let running: { gen: number; done: Promise<void> } | null = null;
  let again = false;

  const check = (gen: number): void => {
    if (gen !== generation) throw new Stale();
  };

  /**
   * One request of this connection's sync. `rate limited` (too many events queued, or the user's
   * event budget) and `service unavailable` mean "not now": asked again after a growing pause
   * rather than given up, so a large sync slows down instead of failing.
   */
  async function ask<T extends { ok: boolean }>(gen: number, send: () => Promise<T>): Promise<T> {
    for (let attempt = 0, pause = FIRST_PAUSE_MS; ; attempt++, pause *= 2) {
      const res = await send();
      check(gen);
      const error = res.ok ? '' : (res as unknown as { error: string }).error;
      if (attempt >= RETRIES || (error !== ERRORS.rateLimited && error !== ERRORS.unavailable)) return res;
      await new Promise((r) => window.setTimeout(r, pause));
      check(gen);
    }
  }

  /** One room's remaining pages after a `catch_up` answered `more`. */
  async function pageOn(gen: number, roomId: string): Promise<void> {
    for (let page = 0; page < PAGES_PER_ROOM; page++) {
      const after = store.state.rooms[roomId]?.resume;
      if (!after) return;
      const res = await ask(gen, () => request('history', { room_id: roomId, after, limit: LIMITS.historyMax }));
      if (!res.ok) {
        if (res.error === ERRORS.notMember) return store.update((s) => removeRoom(s, roomId));
        throw new Error(res.error);
      }
      store.update((s) => receive(s, roomId, res.messages, 'page'));
      if (res.messages.length < LIMITS.historyMax) break;
    }
    store.update((s) => caughtUp(s, roomId));
  }

  /** Every room not known to be caught up, in batches, one batch after another. */
  async function catchUpRooms(gen: number): Promise<void> {
    const waiting = (s: ChatState): string[] => s.order.filter((id) => s.rooms[id] && !s.rooms[id].live);
    const ids = waiting(store.state);
    for (let i = 0; i < ids.length; i += LIMITS.catchUpMaxRooms) {
      const rooms = ids
        .slice(i, i + LIMITS.catchUpMaxRooms)
        .flatMap((id) => (store.state.rooms[id] ? [{ room_id: id, after: store.state.rooms[id].resume }] : []));
      if (rooms.length === 0) continue;
      const res = await ask(gen, () => request('catch_up', { rooms }));
      if (!res.ok) throw new Error(res.error);
      const answered = new Set(res.rooms.map((r) => r.room_id));
      store.update((s) => {
        for (const r of res.rooms) {
          s = receive(s, r.room_id, r.messages, 'page');
          if (!r.more) s = caughtUp(s, r.room_id);
        }
        // Left out of the answer: the user is no longer in them.
        for (const r of rooms) if (!answered.has(r.room_id)) s = removeRoom(s, r.room_id);
        return s;
      });
      for (const r of res.rooms) if (r.more) await pageOn(gen, r.room_id);
    }
  }

  /** Runs the catch-up of this connection, once more if asked again while it ran. */
  function catchUpAll(gen: number): Promise<void> {
    if (running?.gen === gen) {
      again = true;
      return running.done;
    }
    const done = (async () => {
      try {
        do {
          again = false;
          await catchUpRooms(gen);
        } while (again);
      } finally {
        if (running?.gen === gen) running = null;
      }
    })();
    running = { gen, done };
    return done;
  }

  const failed = (gen: number, err: unknown): void => {
    if (err instanceof Stale || gen !== generation) return;
    showError(`Could not sync: ${reasonOf(err)}`);
  };

  return {
    start() {
      const gen = ++generation;
      void (async () => {
        const res = await ask(gen, () => request('joined', {}));
        if (!res.ok) throw new Error(res.error);
        const listed = new Set(res.rooms.map((r) => r.room_id));
        store.update((s) => {
          for (const id of s.order) if (!listed.has(id)) s = removeRoom(s, id);
          return applySummaries(keepRooms(s, listed), res.rooms);
        });
        onJoined();
        await catchUpAll(gen);
        onSynced();
      })().catch((err: unknown) => failed(gen, err));
    },
    catchUp() {
      const gen = generation;
      catchUpAll(gen).catch((err: unknown) => failed(gen, err));
    },
    stop() {
      generation++;
    },
  };
}
