/**
 * The page's rooms: which are shown and in what order, their messages as they arrive, unread
 * counts, typists, which one is open, and the resume marks catch-up starts from.
 */
import { LIMITS } from '../../shared/limits.js';
import type { Message, RoomSummary, RoomWithMessages } from '../../shared/types.js';
import { MIN_ID } from '../ids.js';
import { mentionsMe } from '../text.js';
import { insertMessages, insertNotice, settledBy, type Source } from './messages.js';
import { NO_PEOPLE } from './presence.js';
import type { ChatState, Me, Pending, RoomState } from './types.js';
import { afterAdded, atLeastHere, fillActivity, isNews, placeByActivity } from './unread.js';

/** Live messages kept per room not on the page yet, at most. */
const ORPHANS_KEPT = 200;
const TYPING_SHOWN_MS = 3000;

/** A room as the page gets it: its newest messages, and where the server summarised it (GET /chat, `joined`) its summary. */
export type RoomInput = RoomWithMessages & Partial<RoomSummary>;

function newRoom(room: RoomInput): RoomState {
  const last = room.last_message ?? room.messages[room.messages.length - 1] ?? null;
  // Listed by its summary only (GET /chat renders the first room's messages): loaded when opened.
  const loaded = room.messages.length > 0 || last === null;
  const empty: RoomState = {
    id: room.room_id,
    name: room.room_name,
    messages: [],
    notices: [],
    // The rule the server's macros use: a room shown with fewer than a page has no older messages.
    complete: loaded && room.messages.length < LIMITS.pageMessages,
    // Not loaded: what is new is what comes after the summary's newest message.
    resume: loaded ? MIN_ID : last.id,
    live: true,
    liveMax: undefined,
    run: undefined,
    // The server's count where it gave one (GET /chat's summary); live messages add to it.
    unread: room.unread ?? 0,
    mentioned: false,
    members: [],
    typists: [],
    lastRead: room.last_read ?? null,
    counted: room.unread === undefined ? null : (last?.id ?? null),
    last,
    activity: last?.time ?? '',
    loaded,
    divider: null,
  };
  return insertMessages(empty, room.messages, 'snapshot').room;
}

/**
 * The page as the server rendered it, plus the outbox kept across a reload. The rendering was a
 * snapshot taken before the socket joined the rooms: every room is caught up on the first connect.
 */
export function initialState(me: Me, rooms: readonly RoomInput[], outbox: readonly Pending[] = []): ChatState {
  const byId: Record<string, RoomState> = {};
  const made = rooms.map(newRoom);
  const activity = fillActivity(made.map((r) => r.activity));
  made.forEach((r, i) => (byId[r.id] = { ...r, live: false, activity: activity[i]! }));
  // The room open at load shows where its unread messages start, as one opened by the reader.
  const first = rooms[0] ? byId[rooms[0].room_id] : undefined;
  if (first && first.unread > 0) byId[first.id] = { ...first, divider: first.lastRead ?? MIN_ID };
  const state: ChatState = {
    me,
    rooms: byId,
    order: rooms.map((r) => r.room_id),
    outbox: [],
    orphans: {},
    active: rooms[0]?.room_id ?? null,
    looking: true,
    paneOpen: false,
    connected: false,
    nextSeq: 1,
    people: NO_PEOPLE,
  };
  // Sent before the reload and stored after all: the rendered page already has them.
  return {
    ...state,
    outbox: settledBy(
      outbox,
      Object.values(byId).flatMap((r) => r.messages),
      me.uid,
    ),
  };
}

export function withRoom(state: ChatState, room: RoomState): ChatState {
  return state.rooms[room.id] === room ? state : { ...state, rooms: { ...state.rooms, [room.id]: room } };
}

const lookingAt = (state: ChatState, roomId: string): boolean => state.active === roomId && state.looking;

/**
 * Messages for a room, from anywhere: each stored once, own pending copies settled by client_id,
 * new messages of others counted unread unless the reader is looking at the room.
 */
export function receive(
  state: ChatState,
  roomId: string,
  messages: readonly Message[],
  source: Source,
  now = 0,
): ChatState {
  const room = state.rooms[roomId];
  if (!room) {
    if (source !== 'live' || messages.length === 0) return state;
    const kept = [...(state.orphans[roomId] ?? []), ...messages].slice(-ORPHANS_KEPT);
    return { ...state, orphans: { ...state.orphans, [roomId]: kept } };
  }
  const { room: next, added } = insertMessages(room, messages, source, now);
  const outbox = settledBy(state.outbox, messages, state.me.uid);
  const counted = source === 'live' || source === 'page';
  const fresh = counted ? added.filter((m) => isNews(room, m, state.me.uid)) : [];
  const away = fresh.length > 0 && !lookingAt(state, roomId);
  const unread = away ? next.unread + fresh.length : next.unread;
  const mentioned = next.mentioned || (away && fresh.some((m) => mentionsMe(m.msg, state.me.name)));
  const tallied = unread === next.unread && mentioned === next.mentioned ? next : { ...next, unread, mentioned };
  let updated = afterAdded(tallied, added, state.me.uid);
  // A catch-up page may bring more than the server's count went up to (after a long time offline).
  if (source === 'page' && added.length > 0 && !lookingAt(state, roomId)) updated = atLeastHere(updated, state.me.uid);
  let changed = withRoom(state, updated);
  // Newer activity: the room moves up the list.
  if (updated.activity !== room.activity)
    changed = { ...changed, order: placeByActivity(changed.order, changed.rooms, roomId) };
  return outbox === state.outbox ? changed : { ...changed, outbox };
}

/** Adds a room (or merges the messages of one already shown), with any live messages that came first. */
export function addRoom(state: ChatState, room: RoomInput, activate = false): ChatState {
  let next = state;
  if (!state.rooms[room.room_id]) {
    const { [room.room_id]: waiting = [], ...orphans } = state.orphans;
    const added = newRoom(room);
    // Joining is activity: at least as new as the list's newest (the server lists it so too).
    const top = state.order[0] ? (state.rooms[state.order[0]]?.activity ?? '') : '';
    // (From a summary: its newest message's time, or the top's for a room without messages.)
    const activity = room.unread === undefined ? (top > added.activity ? top : added.activity) : added.activity || top;
    const fresh = { ...added, activity };
    const rooms = { ...state.rooms, [room.room_id]: fresh };
    // From the top down to its place (a tie with the top stays on top).
    next = { ...state, rooms, order: placeByActivity([room.room_id, ...state.order], rooms, room.room_id), orphans };
    next = receive(next, room.room_id, room.messages, 'snapshot');
    next = receive(next, room.room_id, waiting, 'live');
  } else {
    next = receive(state, room.room_id, room.messages, 'snapshot');
  }
  if (activate || next.active === null) next = activateRoom(next, room.room_id, activate);
  return next;
}

/** The room is gone (left here or in another tab): its tab, pane and unsent messages go with it. */
export function removeRoom(state: ChatState, roomId: string): ChatState {
  const { [roomId]: gone, ...rooms } = state.rooms;
  const { [roomId]: _orphans, ...orphans } = state.orphans;
  if (!gone) return state.orphans === orphans ? state : { ...state, orphans };
  const order = state.order.filter((id) => id !== roomId);
  const wasActive = state.active === roomId;
  return {
    ...state,
    rooms,
    order,
    orphans,
    outbox: state.outbox.filter((p) => p.room_id !== roomId),
    active: wasActive ? (order[0] ?? null) : state.active,
    paneOpen: wasActive ? false : state.paneOpen,
  };
}

/** Shows a room; `open` also brings its pane forward (phone layout). */
export function activateRoom(state: ChatState, roomId: string, open: boolean): ChatState {
  const room = state.rooms[roomId];
  if (!room) return state;
  const next = { ...state, active: roomId, paneOpen: open || state.paneOpen };
  // Opened with unread messages: the "New messages" divider goes above the first of them. The
  // count is cleared once the reader sees the room's bottom (setLooking), not by opening it.
  if (state.active === roomId) return next;
  const divider = room.unread > 0 ? (room.lastRead ?? MIN_ID) : null;
  return divider === room.divider ? next : withRoom(next, { ...room, divider });
}

export function closePane(state: ChatState): ChatState {
  return state.paneOpen ? { ...state, paneOpen: false } : state;
}

/** Whether the reader sees the active pane (the tab is visible; on a phone, the pane is open). */
export function setLooking(state: ChatState, looking: boolean): ChatState {
  const next = state.looking === looking ? state : { ...state, looking };
  const room = next.active ? next.rooms[next.active] : undefined;
  return looking && room && room.unread > 0 ? withRoom(next, { ...room, unread: 0, mentioned: false }) : next;
}

/** Names of the room's members (the `members` answer), for mentions. */
export function setMembers(state: ChatState, roomId: string, names: readonly string[]): ChatState {
  const room = state.rooms[roomId];
  if (!room) return state;
  const same = names.length === room.members.length && names.every((n, i) => room.members[i] === n);
  return same ? state : withRoom(state, { ...room, members: [...names] });
}

/** Someone joined the room: their name can be mentioned. */
export function addMember(state: ChatState, roomId: string, name: string): ChatState {
  const room = state.rooms[roomId];
  if (!room || room.members.includes(name)) return state;
  return withRoom(state, { ...room, members: [...room.members, name] });
}

export function addNotice(state: ChatState, roomId: string, notice: { msg: string; time: string }): ChatState {
  const room = state.rooms[roomId];
  if (!room) return state;
  return { ...withRoom(state, insertNotice(room, { ...notice, seq: state.nextSeq })), nextSeq: state.nextSeq + 1 };
}

/** A page of older history above the first message; `complete` when it was the last. */
export function receiveOlder(
  state: ChatState,
  roomId: string,
  messages: readonly Message[],
  complete: boolean,
): ChatState {
  const next = receive(state, roomId, messages, 'older');
  const room = next.rooms[roomId];
  return room && complete && !room.complete ? withRoom(next, { ...room, complete: true }) : next;
}

export function typingStarted(state: ChatState, roomId: string, uid: string, name: string, now: number): ChatState {
  const room = state.rooms[roomId];
  if (!room || uid === state.me.uid) return state;
  const typists = [...room.typists.filter((t) => t.uid !== uid), { uid, name, until: now + TYPING_SHOWN_MS }];
  return withRoom(state, { ...room, typists });
}

/** Drops indicators whose time is up. */
export function typingExpired(state: ChatState, now: number): ChatState {
  let next = state;
  for (const room of Object.values(state.rooms)) {
    if (!room.typists.some((t) => t.until <= now)) continue;
    next = withRoom(next, { ...room, typists: room.typists.filter((t) => t.until > now) });
  }
  return next;
}
