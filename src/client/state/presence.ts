/**
 * Who is here: who is online (from `members` and `get_users` answers, `presence` events and
 * joins), each room's members as the members panel lists them, the other person of each direct
 * conversation (for the conversation list's dot), and which room's panel is open.
 */
import { isDirectRoom } from '../../shared/room-label.js';
import type { Member } from '../../shared/types.js';
import type { ChatState, PeopleState, Person } from './types.js';

export const NO_PEOPLE: PeopleState = { online: {}, rosters: {}, peers: {}, panel: null };

/** What a dot shows: 'online', 'offline', or '' when nothing has been heard about the person. */
export type Presence = 'online' | 'offline' | '';

function withPeople(state: ChatState, people: PeopleState): ChatState {
  return people === state.people ? state : { ...state, people };
}

/** Records who is online; the same object back when nothing changed (so nothing renders again). */
export function noteOnline(state: ChatState, users: readonly { uid: string; online: boolean }[]): ChatState {
  const changed = users.filter((u) => state.people.online[u.uid] !== u.online);
  if (changed.length === 0) return state;
  const online = { ...state.people.online };
  for (const u of changed) online[u.uid] = u.online;
  return withPeople(state, { ...state.people, online });
}

/** `presence {uid, online}`. */
export function setOnline(state: ChatState, uid: string, online: boolean): ChatState {
  return noteOnline(state, [{ uid, online }]);
}

/**
 * A `members` answer: the room's roster, everyone's online state, and for a direct conversation
 * the other person.
 */
export function setRoster(state: ChatState, roomId: string, members: readonly Member[]): ChatState {
  let next = noteOnline(state, members);
  const roster = members.map(({ uid, name, picture }) => ({ uid, name, picture }));
  next = withPeople(next, { ...next.people, rosters: { ...next.people.rosters, [roomId]: roster } });
  const other = isDirectRoom(roomId) ? members.find((m) => m.uid !== state.me.uid) : undefined;
  return other ? setPeer(next, roomId, other.uid) : next;
}

/**
 * Someone joined the room (`status` join): a join is said when a member comes online or a new
 * member arrives, so they are online. A roster not asked for yet stays unasked.
 */
export function joinRoster(state: ChatState, roomId: string, person: Person): ChatState {
  const next = setOnline(state, person.uid, true);
  const roster = next.people.rosters[roomId];
  if (!roster || roster.some((p) => p.uid === person.uid)) return next;
  const rosters = { ...next.people.rosters, [roomId]: [...roster, { ...person }] };
  return withPeople(next, { ...next.people, rosters });
}

/** Someone left the room (`status` exit). */
export function leaveRoster(state: ChatState, roomId: string, uid: string): ChatState {
  const roster = state.people.rosters[roomId];
  if (!roster?.some((p) => p.uid === uid)) return state;
  const rosters = { ...state.people.rosters, [roomId]: roster.filter((p) => p.uid !== uid) };
  return withPeople(state, { ...state.people, rosters });
}

/** The direct conversation `roomId` is with `uid` (POST /chat/direct, or its `members`). */
export function setPeer(state: ChatState, roomId: string, uid: string): ChatState {
  if (state.people.peers[roomId] === uid) return state;
  return withPeople(state, { ...state.people, peers: { ...state.people.peers, [roomId]: uid } });
}

/** Opens the members panel of a room, or closes it (null). */
export function openPanel(state: ChatState, roomId: string | null): ChatState {
  return state.people.panel === roomId ? state : withPeople(state, { ...state.people, panel: roomId });
}

export function presenceOf(state: ChatState, uid: string): Presence {
  const online = state.people.online[uid];
  return online === undefined ? '' : online ? 'online' : 'offline';
}

/** The dot of a direct conversation: its other person's presence ('' for other rooms, or not known). */
export function peerPresence(state: ChatState, roomId: string): Presence {
  const peer = state.people.peers[roomId];
  return peer === undefined ? '' : presenceOf(state, peer);
}

/** The panel's count line: "5 members, 2 online" (null until the roster is known). */
export function rosterSummary(state: ChatState, roomId: string): string | null {
  const roster = state.people.rosters[roomId];
  if (!roster) return null;
  const online = roster.filter((p) => state.people.online[p.uid] === true).length;
  return `${roster.length} ${roster.length === 1 ? 'member' : 'members'}, ${online} online`;
}

/** The roster in the panel's order: the reader first, then online people, then by name. */
export function rosterOrder(state: ChatState, roomId: string): Person[] {
  const roster = state.people.rosters[roomId] ?? [];
  const rank = (p: Person): number => (p.uid === state.me.uid ? 0 : state.people.online[p.uid] ? 1 : 2);
  return [...roster].sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name));
}
