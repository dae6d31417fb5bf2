/**
 * One room's message list: stored messages unique by id and by client_id, in id order whatever
 * order they arrive in (rendered, live, acknowledged, paged back, caught up), live notices placed
 * after the message they followed, and the list the view renders (messages, notices, then the
 * room's own pending messages in send order).
 */
import type { Message } from '../../shared/types.js';
import { compareIds, maxId } from '../ids.js';
import type { Notice, Pending, RoomState } from './types.js';

/**
 * Where messages come from decides what they prove about the resume mark:
 * - `live`: an `internal_msg`; the adapter delivers a room's messages in order, so while the room
 *   is live everything up to it is here;
 * - `page`: a catch-up or `history {after: resume}` page, contiguous from the mark by construction;
 * - `snapshot`: the newest messages (the rendered page, `room_added`, `history` without ids);
 * - `ack`, `older`: an own message's acknowledgement, a page of older history: prove nothing.
 */
export type Source = 'live' | 'page' | 'snapshot' | 'ack' | 'older';

/** Live deliveries closer together than this form one run (./types.ts RoomState.run). */
export const LIVE_RUN_MS = 10_000;

/** Index of the first message whose id is not below `id` (binary search over the ordered list). */
function lowerBound(list: readonly Message[], id: string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareIds(list[mid]!.id, id) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const overlaps = (incoming: readonly Message[], mark: string): boolean =>
  incoming.some((m) => compareIds(m.id, mark) <= 0);

export function hasMessage(room: RoomState, id: string): boolean {
  const i = lowerBound(room.messages, id);
  return room.messages[i]?.id === id;
}

/** Adds the messages the room does not have yet; returns the room (the same object if none was new) and the new ones. */
export function insertMessages(
  room: RoomState,
  incoming: readonly Message[],
  source: Source,
  now = 0,
): { room: RoomState; added: Message[] } {
  if (incoming.length === 0) return { room, added: [] };
  let list: Message[] | null = null;
  const clientIds = new Set(room.messages.flatMap((m) => (m.client_id ? [m.client_id] : [])));
  const added: Message[] = [];
  for (const m of incoming) {
    const current = list ?? room.messages;
    const i = lowerBound(current, m.id);
    if (current[i]?.id === m.id) continue;
    if (m.client_id && clientIds.has(m.client_id)) continue;
    list ??= [...room.messages];
    list.splice(i, 0, m);
    if (m.client_id) clientIds.add(m.client_id);
    added.push(m);
  }
  const newest = incoming.reduce<string | undefined>((acc, m) => maxId(acc, m.id), undefined);
  let { resume, liveMax, typists, run } = room;
  // A snapshot (the newest messages) continues the mark only where it reaches back to it.
  const joins = source === 'snapshot' && (room.messages.length === 0 || overlaps(incoming, room.resume));
  if (source === 'live' && room.live) {
    run = { before: run && now - run.last <= LIVE_RUN_MS ? run.before : resume, last: now };
    resume = maxId(resume, newest)!;
  } else if (source === 'live') liveMax = maxId(liveMax, newest);
  else if (source === 'page' || joins) resume = maxId(resume, newest)!;
  // A message from someone typing ends their indicator.
  if (added.length > 0 && typists.length > 0) typists = typists.filter((t) => !added.some((m) => m.uid === t.uid));
  const same = resume === room.resume && liveMax === room.liveMax && typists === room.typists && run === room.run;
  if (!list && same) return { room, added };
  return { room: { ...room, messages: list ?? room.messages, resume, liveMax, typists, run }, added };
}

/** The outbox without the messages `stored` shows the server has (own messages, by client_id). */
export function settledBy(outbox: readonly Pending[], stored: readonly Message[], uid: string): readonly Pending[] {
  if (outbox.length === 0) return outbox;
  const ids = new Set(stored.flatMap((m) => (m.client_id && m.uid === uid ? [m.client_id] : [])));
  if (ids.size === 0) return outbox;
  const left = outbox.filter((p) => !ids.has(p.client_id));
  return left.length === outbox.length ? outbox : left;
}

export function insertNotice(room: RoomState, notice: Omit<Notice, 'after'>): RoomState {
  const after = room.messages[room.messages.length - 1]?.id ?? '';
  return { ...room, notices: [...room.notices, { ...notice, after }] };
}

export type Item =
  | { kind: 'message'; key: string; message: Message }
  | { kind: 'notice'; key: string; notice: Notice }
  | { kind: 'pending'; key: string; pending: Pending };

/** Orders notices: by the id they followed, then by arrival (a stable order for equal keys). */
function compareNotices(a: Notice, b: Notice): number {
  if (a.after !== b.after) {
    if (a.after === '') return -1;
    if (b.after === '') return 1;
    return compareIds(a.after, b.after);
  }
  return a.seq - b.seq;
}

/**
 * What the room's list shows, top to bottom: messages in id order with each notice right after
 * the message it followed (before everything when it followed none), then the room's own
 * messages not stored yet, in send order. Keys are stable across renders.
 */
export function roomItems(room: RoomState, outbox: readonly Pending[]): Item[] {
  const notices = [...room.notices].sort(compareNotices);
  const items: Item[] = [];
  let n = 0;
  const noticeItem = (notice: Notice): Item => ({ kind: 'notice', key: `n:${notice.seq}`, notice });
  while (n < notices.length && notices[n]!.after === '') items.push(noticeItem(notices[n++]!));
  for (const m of room.messages) {
    // Notices whose message is no longer listed (older than the first) go before it.
    while (n < notices.length && compareIds(notices[n]!.after, m.id) < 0) items.push(noticeItem(notices[n++]!));
    items.push({ kind: 'message', key: `m:${m.id}`, message: m });
    while (n < notices.length && notices[n]!.after === m.id) items.push(noticeItem(notices[n++]!));
  }
  while (n < notices.length) items.push(noticeItem(notices[n++]!));
  for (const p of outbox)
    if (p.room_id === room.id) items.push({ kind: 'pending', key: `p:${p.client_id}`, pending: p });
  return items;
}
