/**
 * The page's side of read marks and summaries: a mark moved here or by the server (`read`, from
 * this or another tab or device), the `joined` summary taken after each (re)connect, a room's
 * messages loaded when it is opened, and the totals the title shows.
 */
import { LIMITS } from '../../shared/limits.js';
import type { Message, RoomSummary } from '../../shared/types.js';
import { compareIds } from '../ids.js';
import { addRoom, receive, withRoom } from './rooms.js';
import type { ChatState } from './types.js';
import { isNews, readTo } from './unread.js';

/** The user's read mark in the room moved to `id` (only ever forward). */
export function applyRead(state: ChatState, roomId: string, id: string): ChatState {
  const room = state.rooms[roomId];
  return room ? withRoom(state, readTo(room, id, state.me.uid)) : state;
}

/**
 * The id a reader at the bottom of the room has read up to, when it is newer than the mark: the
 * newest stored message (own pending ones have no id yet), only once the room's newest messages
 * are here.
 */
export function unreadMark(state: ChatState, roomId: string): string | null {
  const room = state.rooms[roomId];
  const newest = room?.loaded ? room.messages[room.messages.length - 1]?.id : undefined;
  if (!room || !newest) return null;
  return room.lastRead === null || compareIds(newest, room.lastRead) > 0 ? newest : null;
}

/**
 * `joined`'s summary after a (re)connect: each room's mark and count as the server has them (plus
 * what arrived here after its newest message), rooms new to the page listed from their summary
 * (loaded when opened), the list in the server's order.
 */
export function applySummaries(state: ChatState, summaries: readonly RoomSummary[]): ChatState {
  // One new record for all the rooms (a user may be in a thousand), rooms new to the page after.
  const rooms = { ...state.rooms };
  const fresh: RoomSummary[] = [];
  for (const s of summaries) {
    const room = rooms[s.room_id];
    if (!room) {
      fresh.push(s);
      continue;
    }
    const counted = s.last_message?.id ?? null;
    const lastRead =
      room.lastRead === null || (s.last_read !== null && compareIds(s.last_read, room.lastRead) > 0)
        ? s.last_read
        : room.lastRead;
    // Its newest message is the preview until catch-up brings it (and what came before it).
    const newer = s.last_message && (!room.last || compareIds(s.last_message.id, room.last.id) > 0);
    const last = newer ? s.last_message : room.last;
    const activity = newer && s.last_message!.time > room.activity ? s.last_message!.time : room.activity;
    const base = { ...room, counted, lastRead, last, activity };
    const later = room.messages.filter((m) => isNews(base, m, state.me.uid)).length;
    // The room being read stays read: its mark is on its way (./scroll-read.ts).
    const reading = state.active === s.room_id && state.looking;
    const unread = reading ? 0 : s.unread + later;
    rooms[s.room_id] = { ...base, unread, mentioned: unread > 0 && room.mentioned };
  }
  let next: ChatState = { ...state, rooms };
  for (const s of fresh) next = addRoom(next, { ...s, messages: [] });
  const listed = summaries.map((s) => s.room_id).filter((id) => next.rooms[id]);
  const known = new Set(listed);
  const rest = next.order.filter((id) => !known.has(id));
  return { ...next, order: [...listed, ...rest] };
}

/** A `history` answer for a room opened before its messages were here: its newest messages. */
export function roomLoaded(state: ChatState, roomId: string, messages: readonly Message[]): ChatState {
  const next = receive(state, roomId, messages, 'snapshot');
  const room = next.rooms[roomId];
  if (!room || room.loaded) return next;
  return withRoom(next, { ...room, loaded: true, complete: messages.length < LIMITS.pageMessages });
}

/** Unread messages in all rooms: the title's number. */
export function totalUnread(state: ChatState): number {
  let n = 0;
  for (const id of state.order) n += state.rooms[id]?.unread ?? 0;
  return n;
}
