/**
 * Read marks, unread counts and activity order, room by room (plain functions of one room, used
 * by ./rooms.ts and ./reads.ts). The server's summary gives each room its read mark, its unread
 * count up to its newest message (`counted`) and that message; what arrives after it is counted
 * here, and a mark that moves (read here, in another tab, or by an own message) recounts what the
 * page can see.
 */
import type { Message } from '../../shared/types.js';
import { compareIds } from '../ids.js';
import { hasMessage } from './messages.js';
import type { RoomState } from './types.js';

const after = (id: string, mark: string | null): boolean => mark === null || compareIds(id, mark) > 0;

/** A message that adds to the unread count: another member's, newer than the mark and than what the server counted. */
export function isNews(room: RoomState, m: Message, me: string): boolean {
  return m.type === 'user' && m.uid !== me && after(m.id, room.counted) && after(m.id, room.lastRead);
}

/** The newest of the room's messages and `last`. */
function newest(room: RoomState): Message | null {
  const tail = room.messages[room.messages.length - 1];
  if (!tail) return room.last;
  return !room.last || compareIds(tail.id, room.last.id) > 0 ? tail : room.last;
}

/**
 * The room after messages were added: its newest message and activity follow, and an own message
 * moves the read mark to it (the server does the same, CONTRACT `read`).
 */
export function afterAdded(room: RoomState, added: readonly Message[], me: string): RoomState {
  if (added.length === 0) return room;
  const last = newest(room);
  let next = room;
  if (last !== room.last) {
    const activity = last && last.time > room.activity ? last.time : room.activity;
    next = { ...room, last, activity };
  }
  const own = added
    .filter((m) => m.uid === me && m.type === 'user')
    .reduce<string | null>((acc, m) => (acc === null || compareIds(m.id, acc) > 0 ? m.id : acc), null);
  return own ? readTo(next, own, me) : next;
}

/**
 * The mark moves forward to `id` (never back). The count follows exactly where the page has every
 * message after the mark; it is 0 when the mark reaches the newest message known; otherwise (a
 * mark inside messages this page never loaded) it stays as it was until the next summary.
 */
export function readTo(room: RoomState, id: string, me: string): RoomState {
  if (!after(id, room.lastRead)) return room;
  const top = newest(room);
  let unread = room.unread;
  if (!top || compareIds(id, top.id) >= 0) unread = 0;
  else if (hasMessage(room, id))
    unread = room.messages.filter((m) => m.type === 'user' && m.uid !== me && compareIds(m.id, id) > 0).length;
  return { ...room, lastRead: id, unread, mentioned: unread > 0 && room.mentioned };
}

/**
 * Where the room goes in a list ordered by activity, newest first: out of its place, back in
 * before the first room with older activity (so rooms with equal activity keep their order).
 */
export function placeByActivity(
  order: readonly string[],
  rooms: Readonly<Record<string, RoomState>>,
  roomId: string,
): readonly string[] {
  const room = rooms[roomId];
  const from = order.indexOf(roomId);
  if (!room || from < 0) return order;
  const rest = order.filter((id) => id !== roomId);
  // Before the first older room; among rooms of equal activity it keeps its place.
  let to = rest.findIndex((id, i) => {
    const a = rooms[id]?.activity ?? '';
    return a < room.activity || (a === room.activity && i >= from);
  });
  if (to < 0) to = rest.length;
  if (to === from) return order;
  return [...rest.slice(0, to), roomId, ...rest.slice(to)];
}

/**
 * The activity of rooms listed newest first whose newest message is unknown (none yet): the
 * activity of the room above them (the list's order is the server's, by the time of joining for
 * such rooms), or below for those at the top.
 */
export function fillActivity(times: readonly string[]): string[] {
  const out = [...times];
  for (let i = 1; i < out.length; i++) if (!out[i]) out[i] = out[i - 1]!;
  for (let i = out.length - 2; i >= 0; i--) if (!out[i]) out[i] = out[i + 1]!;
  return out;
}

/** The server's unread count is exact up to this (CONTRACT); at or past it, it may have stopped counting. */
const SERVER_EXACT = 99;

/**
 * Where the server's count may have stopped (at 99 or more) and catch-up brought more, the count
 * is at least the other members' messages this page has after the mark.
 */
export function atLeastHere(room: RoomState, me: string): RoomState {
  if (room.unread < SERVER_EXACT) return room;
  let here = 0;
  for (let i = room.messages.length - 1; i >= 0; i--) {
    const m = room.messages[i]!;
    if (!after(m.id, room.lastRead)) break;
    if (m.type === 'user' && m.uid !== me) here++;
  }
  return here > room.unread ? { ...room, unread: here } : room;
}
