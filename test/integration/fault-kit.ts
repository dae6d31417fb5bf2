/**
 * Shared pieces of the fault tests: a sender that keeps what it sent and what was acknowledged,
 * a model of one open chat page (live `internal_msg` plus `history {after}` catch-up, merged by
 * id the way the browser client does), and a full read of a room's history.
 */
import type { Message } from '../../src/shared/types.js';
import { connect, emitAck, type ChatClient } from '../helpers/client.js';
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
