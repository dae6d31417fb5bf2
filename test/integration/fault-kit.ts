/**
 * Shared pieces of the fault tests: a sender that keeps what it sent and what was acknowledged,
 * a model of one open chat page (live `internal_msg` plus `history {after}` catch-up, merged by
 * id the way the browser client does), and a full read of a room's history. For the exactly-once
 * tests: a member viewing several rooms that syncs on every (re)connect and `resync`, and an
 * outbox that resends every message of unknown outcome with the same client_id.
 */
import { randomBytes } from 'node:crypto';
import { ERRORS, LIMITS } from '../../src/shared/limits.js';
import type { CatchUpResult, Message } from '../../src/shared/types.js';
import { connect, emitAck, type ChatClient, type SignedIn } from '../helpers/client.js';
import { compareIds } from '../helpers/contract.js';

export interface SendLog {
  sent: string[];
  acked: { id: string; msg: string }[];
  refused: { msg: string; error: string }[];
}

export const newLog = (): SendLog => ({ sent: [], acked: [], refused: [] });

/**
 * Sends `<tag>-<n>` one after another (each waits for its ack, like the page does) until `stop()`
 * says so or the socket is gone; at most `max` messages, so the loop ends by itself.
 */
export async function sendLoop(
  socket: ChatClient,
  roomId: string,
  tag: string,
  log: SendLog,
  stop: () => boolean,
  opts: { max?: number; gapMs?: number; ackMs?: number } = {},
): Promise<void> {
  const max = opts.max ?? 2000;
  for (let n = 0; n < max && !stop() && socket.connected; n++) {
    const msg = `${tag}-${log.sent.length}`;
    log.sent.push(msg);
    try {
      const res = await emitAck<{ id: string }>(socket, 'text', { room_id: roomId, msg }, opts.ackMs ?? 3000);
      if (res.ok) log.acked.push({ id: res.id, msg });
      else log.refused.push({ msg, error: res.error });
    } catch (err) {
      log.refused.push({ msg, error: err instanceof Error ? err.message : String(err) });
    }
    if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
  }
}

/** Every message of a room, oldest first, paging forward with `history {after}`. */
export async function readAll(socket: ChatClient, roomId: string, after = '0-0'): Promise<Message[]> {
  const out: Message[] = [];
  for (let page = 0; page < 1000; page++) {
    const res = await emitAck<{ messages: Message[] }>(socket, 'history', { room_id: roomId, after, limit: 100 });
    if (!res.ok) throw new Error(`history refused: ${res.error}`);
    out.push(...res.messages);
    if (res.messages.length < 100) return out;
    after = res.messages[res.messages.length - 1]!.id;
  }
  throw new Error('history did not end within 1000 pages');
}

/**
 * One open chat page of one user for one room, across reconnections: shows each id once (the
 * client merges by id), and counts what the server delivered twice to the same socket and what
 * arrived out of order on one socket, which the page could not have fixed without the merge.
 */
export class PageView {
  readonly shown = new Map<string, Message>();
  /** Same id delivered twice live on one socket. */
  liveDuplicates = 0;
  /** Live ids that went backwards on one socket. */
  liveOutOfOrder = 0;
  /** Ids fetched by catch-up that the page already had (merged away, not shown twice). */
  catchUpOverlap = 0;
  caughtUp = 0;
  pages = 0;
  /**
   * The newest id shown when the connection dropped. Catch-up starts here, not at lastId(): live
   * messages that arrive after the rejoin but before the catch-up would otherwise hide the gap
   * (the browser client keeps the same mark, `resumeAfter`).
   */
  resumeAfter: string | undefined;

  constructor(readonly roomId: string) {}

  attach(socket: ChatClient): void {
    const seen = new Set<string>();
    let last = '0-0';
    socket.on('disconnect', () => {
      this.resumeAfter ??= this.lastId();
    });
    socket.on('internal_msg', (m) => {
      if (m.room_id !== this.roomId) return;
      if (seen.has(m.id)) this.liveDuplicates += 1;
      seen.add(m.id);
      if (compareIds(m.id, last) < 0) this.liveOutOfOrder += 1;
      else last = m.id;
      this.shown.set(m.id, m);
    });
  }

  /** The newest id the page shows. */
  lastId(): string {
    let last = '0-0';
    for (const id of this.shown.keys()) if (compareIds(id, last) > 0) last = id;
    return last;
  }

  /** `history {after}` page by page until the end, as the client does on reconnect. */
  async catchUp(socket: ChatClient): Promise<number> {
    let after = this.resumeAfter ?? this.lastId();
    let got = 0;
    for (let page = 0; page < 1000; page++) {
      const res = await emitAck<{ messages: Message[] }>(socket, 'history', {
        room_id: this.roomId,
        after,
        limit: 100,
      });
      if (!res.ok) throw new Error(`history refused: ${res.error}`);
      this.pages += 1;
      for (const m of res.messages) {
        if (compareIds(m.id, after) <= 0) throw new Error(`history {after: ${after}} returned ${m.id}`);
        if (this.shown.has(m.id)) this.catchUpOverlap += 1;
        this.shown.set(m.id, m);
        after = m.id;
        got += 1;
      }
      if (res.messages.length < 100) break;
    }
    this.resumeAfter = undefined;
    this.caughtUp += got;
    return got;
  }

  ids(): string[] {
    return [...this.shown.keys()].sort(compareIds);
  }
}

export function waitFor(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (pred()) resolve();
      else if (Date.now() > end) reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      else setTimeout(tick, 20);
    };
    tick();
  });
}

/** `{a: 1, b: 2}` as `a=1 b=2`, for the printed figures. */
export function figures(o: Record<string, unknown>): string {
  return Object.entries(o)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
}

export interface OpenPage {
  socket: ChatClient;
  page: PageView;
  /** Times the socket came back by itself (socket.io-client reconnection). */
  reconnects: number;
  /** Failures of the join + catch-up done on each (re)connect. */
  errors: string[];
  /** The join + catch-up of the latest (re)connect. */
  syncing: Promise<unknown>;
}

/**
 * A page as the browser client runs it: a reconnecting socket that, on every (re)connect, sends
 * `joined` and catches up with `history {after}` from the newest message it shows.
 */
export async function openPage(url: string, cookie: string, roomId: string): Promise<OpenPage> {
  const socket = await connect(url, cookie, { reconnection: true });
  const page = new PageView(roomId);
  page.attach(socket);
  const state: OpenPage = { socket, page, reconnects: 0, errors: [], syncing: Promise.resolve() };
  const sync = async (): Promise<void> => {
    const j = await emitAck(socket, 'joined', {});
    if (!j.ok) throw new Error(`joined: ${j.error}`);
    await page.catchUp(socket);
  };
  await sync();
  socket.on('connect', () => {
    state.reconnects += 1;
    state.syncing = sync().catch((err: unknown) => state.errors.push(String(err)));
  });
  return state;
}

// --- Sending exactly once (CONTRACT "Sending exactly once") ------------------------------------
// A member with one live socket at a time and a view of several rooms, and an outbox that resends
// every message whose outcome is unknown with the same client_id until it is acknowledged.

/** A fresh contract `client_id`: 16 characters of `A-Za-z0-9_-`. */
export const newClientId = (): string => randomBytes(12).toString('base64url');

/**
 * The tests also write the client_id into the text (`… [cid:<id>]`), so copies are counted by it
 * even where the server drops the `client_id` field; that the field is there is checked apart.
 */
export const withClientId = (text: string, clientId: string): string => `${text} [cid:${clientId}]`;
export const textClientId = (msg: string): string | undefined => /\[cid:([A-Za-z0-9_-]{8,64})\]$/.exec(msg)?.[1];

/** The `<ms>` part of a message id (Redis stream ids carry the time they were stored). */
export const idMs = (id: string): number => Number(id.split('-')[0]);

export interface RoomView {
  shown: Map<string, Message>;
  /**
   * Everything up to this id is known: the end of the last complete catch-up. Catch-up starts
   * here rather than at the newest id shown, because after a subscriber loss the live messages
   * that arrived before the `resync` may already be past the gap (the merge by id absorbs the
   * overlap).
   */
  synced: string;
}

/**
 * One user's page over several rooms: merges live `internal_msg` and catch-up by id, counts what
 * the server delivered twice live to one socket, and on every (re)connect and every `resync`
 * sends `joined` and catches every room up from its mark (one sync at a time, retried while the
 * store refuses). `use()` moves it to a new socket (e.g. on another node after a crash).
 */
export class Member {
  socket!: ChatClient;
  readonly views = new Map<string, RoomView>();
  /** The same message (room and id) delivered live twice to one socket. */
  liveDuplicates = 0;
  liveOutOfOrder = 0;
  live = 0;
  /** `<room> <id>` of every message this member got live, on any of its sockets. */
  readonly liveKeys = new Set<string>();
  caughtUp = 0;
  catchUpOverlap = 0;
  historyCalls = 0;
  reconnects = 0;
  resyncs = 0;
  syncs = 0;
  syncRetries = 0;
  /** Disconnects by reason ('transport close', 'io server disconnect', …). */
  readonly disconnects = new Map<string, number>();
  readonly errors: string[] = [];
  /** The latest sync (joined + catch-up of every room). */
  syncing: Promise<void> = Promise.resolve();
  private readonly attached = new WeakSet<ChatClient>();

  /**
   * `history`: one `history {after}` per room, paged (the contract's event). `catch_up`: the
   * project's batched event, up to LIMITS.catchUpMaxRooms rooms per request, paged while `more`.
   */
  constructor(
    readonly user: SignedIn,
    roomIds: string[],
    readonly catchUpWith: 'history' | 'catch_up' = 'history',
  ) {
    for (const id of roomIds) this.views.set(id, { shown: new Map(), synced: '0-0' });
  }

  disconnectCount(): number {
    let n = 0;
    for (const v of this.disconnects.values()) n += v;
    return n;
  }

  /** Makes `socket` the member's socket and syncs on it now. */
  use(socket: ChatClient): Promise<void> {
    this.socket = socket;
    if (!this.attached.has(socket)) this.attach(socket);
    return this.sync();
  }

  private attach(socket: ChatClient): void {
    this.attached.add(socket);
    const seen = new Set<string>();
    const last = new Map<string, string>();
    let refusedReconnects = 0;
    socket.on('internal_msg', (m) => {
      const view = this.views.get(m.room_id);
      if (!view) return;
      this.live += 1;
      // Ids order one room's messages: two rooms can hold the same id.
      const key = `${m.room_id} ${m.id}`;
      if (seen.has(key)) this.liveDuplicates += 1;
      seen.add(key);
      this.liveKeys.add(key);
      if (compareIds(m.id, last.get(m.room_id) ?? '0-0') < 0) this.liveOutOfOrder += 1;
      else last.set(m.room_id, m.id);
      view.shown.set(m.id, m);
    });
    socket.on('resync', () => {
      if (socket !== this.socket) return;
      this.resyncs += 1;
      void this.sync();
    });
    socket.on('disconnect', (reason) => {
      this.disconnects.set(reason, (this.disconnects.get(reason) ?? 0) + 1);
    });
    // socket.io-client fires 'connect' again after each automatic reconnection.
    socket.on('connect', () => {
      if (socket !== this.socket) return;
      this.reconnects += 1;
      void this.sync();
    });
    // A refusal by the namespace (e.g. the session could not be read while Redis was away) stops
    // socket.io-client's own reconnection; a page would try again, so this does too (bounded).
    socket.on('connect_error', () => {
      if (socket.active || socket !== this.socket || refusedReconnects >= 100) return;
      refusedReconnects += 1;
      setTimeout(() => socket.connect(), 300);
    });
  }

  /** Queues a sync after the current one; resolves when it is done (or given up). */
  sync(): Promise<void> {
    this.syncing = this.syncing.then(() => this.syncOnce());
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const socket = this.socket;
      // A later 'connect' syncs again.
      if (!socket.connected) return;
      try {
        const j = await emitAck(socket, 'joined', {}, 5000);
        if (!j.ok) throw new Error(`joined: ${j.error}`);
        if (this.catchUpWith === 'catch_up') await this.catchUpBatched(socket);
        else for (const [roomId, view] of this.views) await this.catchUp(socket, roomId, view);
        this.syncs += 1;
        return;
      } catch {
        this.syncRetries += 1;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    this.errors.push(`${this.user.name}: sync gave up after 100 attempts`);
  }

  private async catchUp(socket: ChatClient, roomId: string, view: RoomView): Promise<void> {
    let after = view.synced;
    for (let page = 0; page < 1000; page++) {
      this.historyCalls += 1;
      const res = await emitAck<{ messages: Message[] }>(
        socket,
        'history',
        { room_id: roomId, after, limit: 100 },
        5000,
      );
      if (!res.ok) throw new Error(`history: ${res.error}`);
      after = this.merge(view, after, res.messages);
      view.synced = after;
      if (res.messages.length < 100) break;
    }
  }

  private merge(view: RoomView, after: string, messages: Message[]): string {
    for (const m of messages) {
      if (compareIds(m.id, after) <= 0) throw new Error(`catch-up after ${after} returned ${m.id}`);
      if (view.shown.has(m.id)) this.catchUpOverlap += 1;
      else this.caughtUp += 1;
      view.shown.set(m.id, m);
      after = m.id;
    }
    return after;
  }

  private async catchUpBatched(socket: ChatClient): Promise<void> {
    const ids = [...this.views.keys()];
    for (let i = 0; i < ids.length; i += LIMITS.catchUpMaxRooms) {
      // Each room's mark moves on with every page; rooms whose answer said `more` go again.
      let todo = ids.slice(i, i + LIMITS.catchUpMaxRooms);
      for (let page = 0; todo.length > 0 && page < 1000; page++) {
        this.historyCalls += 1;
        const res = await emitAck<{ rooms: CatchUpResult[] }>(
          socket,
          'catch_up',
          { rooms: todo.map((room_id) => ({ room_id, after: this.views.get(room_id)!.synced })) },
          5000,
        );
        if (!res.ok) throw new Error(`catch_up: ${res.error}`);
        const answered = new Set(res.rooms.map((r) => r.room_id));
        const left = todo.filter((id) => !answered.has(id));
        if (left.length > 0) this.errors.push(`${this.user.name}: catch_up left out rooms ${left.join(', ')}`);
        for (const r of res.rooms) {
          const view = this.views.get(r.room_id)!;
          view.synced = this.merge(view, view.synced, r.messages);
        }
        todo = res.rooms.filter((r) => r.more).map((r) => r.room_id);
      }
    }
  }

  /** Ids of `ids` this member's view of the room lacks. */
  missing(roomId: string, ids: Iterable<string>): string[] {
    const shown = this.views.get(roomId)?.shown;
    return [...ids].filter((id) => !shown?.has(id));
  }
}

export type SendOutcome = 'ok' | 'unavailable' | 'timeout' | 'disconnected' | 'refused';

export interface Outgoing {
  room_id: string;
  msg: string;
  client_id: string;
  attempts: number;
  outcomes: SendOutcome[];
  ack?: { id: string; time: string };
  /** When the first acknowledgement came (Date.now()). */
  ackedAt?: number;
  /** An ack for this client_id that named another message than an earlier ack did. */
  conflicts: number;
  /** A later attempt was answered with a message stored before that attempt went out. */
  answeredStored: boolean;
  /** The refusal that ended it (anything but `service unavailable`). */
  refusal?: string;
}

export function outgoing(room_id: string, text: string): Outgoing {
  const client_id = newClientId();
  return {
    room_id,
    msg: withClientId(text, client_id),
    client_id,
    attempts: 0,
    outcomes: [],
    conflicts: 0,
    answeredStored: false,
  };
}

/**
 * One `text` attempt on the member's current socket. Waits (bounded) for a connected socket
 * first: an emit on a disconnected socket.io-client socket is buffered and sent after the
 * reconnect, which would be a resend the test did not decide on.
 */
export async function attempt(member: Member, out: Outgoing, ackMs: number): Promise<SendOutcome> {
  await waitFor(() => member.socket.connected, 30_000, 'a connected socket').catch(() => {});
  const socket = member.socket;
  if (!socket.connected) {
    out.outcomes.push('disconnected');
    return 'disconnected';
  }
  out.attempts += 1;
  const startedAt = Date.now();
  let outcome: SendOutcome;
  try {
    const res = await emitAck<{ id: string; time: string }>(
      socket,
      'text',
      { room_id: out.room_id, msg: out.msg, client_id: out.client_id },
      ackMs,
    );
    if (res.ok) {
      if (out.ack && out.ack.id !== res.id) out.conflicts += 1;
      if (out.attempts > 1 && idMs(res.id) < startedAt) out.answeredStored = true;
      out.ack = { id: res.id, time: res.time };
      out.ackedAt ??= Date.now();
      outcome = 'ok';
    } else if (res.error === ERRORS.unavailable) {
      outcome = 'unavailable';
    } else {
      out.refusal = res.error;
      outcome = 'refused';
    }
  } catch (err) {
    // socket.io-client rejects a pending ack with "socket has been disconnected" on disconnect.
    outcome = err instanceof Error && /disconnected/.test(err.message) ? 'disconnected' : 'timeout';
  }
  out.outcomes.push(outcome);
  return outcome;
}

/**
 * Sends until acknowledged: `service unavailable`, no ack in `ackMs` and a disconnect before the
 * ack mean "outcome unknown", so the same client_id goes again; any other refusal ends it (and
 * means nothing was stored). At most `maxAttempts`, so it ends by itself.
 */
export async function sendUntilAcked(
  member: Member,
  out: Outgoing,
  opts: { ackMs: number; retryMs: number; maxAttempts: number; deadline?: number },
): Promise<void> {
  for (let i = 0; i < opts.maxAttempts; i++) {
    if (opts.deadline !== undefined && Date.now() > opts.deadline) return;
    const outcome = await attempt(member, out, opts.ackMs);
    if (outcome === 'ok' || outcome === 'refused') return;
    await new Promise((r) => setTimeout(r, opts.retryMs));
  }
}

/** Counts over outgoing messages, for the printed figures. */
export function outboxFigures(outs: Outgoing[]) {
  const count = (o: SendOutcome): number => outs.reduce((n, m) => n + m.outcomes.filter((x) => x === o).length, 0);
  return {
    messages: outs.length,
    acked: outs.filter((m) => m.ack).length,
    unanswered: outs.filter((m) => !m.ack && !m.refusal).length,
    resent: outs.reduce((n, m) => n + Math.max(0, m.attempts - 1), 0),
    unavailable: count('unavailable'),
    ackTimeouts: count('timeout'),
    ackLostToDisconnect: count('disconnected'),
    otherRefusals: outs.filter((m) => m.refusal).length,
    answeredStored: outs.filter((m) => m.answeredStored).length,
    ackConflicts: outs.reduce((n, m) => n + m.conflicts, 0),
  };
}

/**
 * Copies in history of each outgoing message, counted by the client_id in its text; and how
 * many stored copies lack the `client_id` field or carry another one.
 */
export function storedCopies(outs: Outgoing[], stored: Message[]) {
  const copies = new Map<string, Message[]>();
  let fieldMissing = 0;
  const mine = new Set(outs.map((o) => o.client_id));
  for (const m of stored) {
    const cid = textClientId(m.msg);
    if (cid === undefined || !mine.has(cid)) continue;
    if (m.client_id !== cid) fieldMissing += 1;
    const list = copies.get(cid);
    if (list) list.push(m);
    else copies.set(cid, [m]);
  }
  const lost = outs.filter((o) => (copies.get(o.client_id)?.length ?? 0) === 0);
  const doubled = outs.filter((o) => (copies.get(o.client_id)?.length ?? 0) > 1);
  const extraCopies = doubled.reduce((n, o) => n + copies.get(o.client_id)!.length - 1, 0);
  // The ack names the one stored copy (when there is exactly one).
  const wrongAck = outs.filter((o) => {
    const c = copies.get(o.client_id);
    return o.ack && c?.length === 1 && c[0]!.id !== o.ack.id;
  });
  return { copies, lost, doubled, extraCopies, wrongAck, fieldMissing };
}
