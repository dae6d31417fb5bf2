/**
 * The chat page's state: plain, immutable data. Every change is a function in this folder that
 * takes a state and returns a new one (sharing what did not change), so the views can tell what
 * changed by reference and the rules can be tested in Node without a browser.
 */
import type { Message } from '../../shared/types.js';

export interface Me {
  uid: string;
  name: string;
  picture: string;
}

/** A live join/exit status: it has no id, so it sorts just after the message it followed. */
export interface Notice {
  /** Arrival number, unique per page: keeps notices with the same `after` in arrival order. */
  seq: number;
  /** Id of the newest message the room had when the notice came ('' when it had none). */
  after: string;
  msg: string;
  time: string;
}

export interface Typist {
  uid: string;
  name: string;
  /** Epoch ms after which the indicator goes. */
  until: number;
}

export interface RoomState {
  id: string;
  name: string;
  /** Stored messages, unique by id and by client_id, in id order. */
  messages: readonly Message[];
  notices: readonly Notice[];
  /** No older history exists before `messages[0]`. */
  complete: boolean;
  /**
   * Every message up to this id is known to be here: catch-up asks for what is after it. It moves
   * only with messages known to be contiguous (live deliveries while `live`, catch-up and history
   * pages), never with an acknowledgement: an own message acknowledged across a reconnect has an
   * id newer than ones this page has not seen yet.
   */
  resume: string;
  /** Live deliveries since the last (re)connect or resync are known to continue from `resume`. */
  live: boolean;
  /** Newest id delivered live while not `live`: part of what the catch-up proves contiguous. */
  liveMax: string | undefined;
  /**
   * The mark before the current run of live deliveries (each within LIVE_RUN_MS of the last).
   * A `resync` arrives after the node's subscriber is back, so messages delivered just before it
   * may follow a gap: the mark goes back to before them (see ./marks.ts).
   */
  run: { before: string; last: number } | undefined;
  unread: number;
  /** A message counted unread mentions the reader ("@<their name>"). */
  mentioned: boolean;
  /** Names of the room's members as far as known (the `members` answer, senders, joins): mentions. */
  members: readonly string[];
  typists: readonly Typist[];
  /** The user's read mark (a message id) as the server last said or this page moved it; null: none. */
  lastRead: string | null;
  /**
   * The newest message the server's `unread` already covers (its summary's `last_message`): a
   * message up to it that arrives later (catch-up, a live delivery racing the summary) is not
   * counted again.
   */
  counted: string | null;
  /** The newest message known: the list's preview (the summary's until messages are loaded). */
  last: Message | null;
  /** Newest activity (ISO time of `last`, or of joining): the list's order, newest first. */
  activity: string;
  /**
   * The room's newest messages are here (rendered with the page, or a `history` answer); a room
   * listed by its summary only is loaded when opened.
   */
  loaded: boolean;
  /** "New messages" divider, set when the room is opened: before the first message of others after this id. */
  divider: string | null;
}

export type PendingState = 'sending' | 'failed';

/** An own message not acknowledged yet, or finally refused. */
export interface Pending {
  client_id: string;
  room_id: string;
  msg: string;
  /** When it was typed (ISO); replaced by the server's time once stored. */
  time: string;
  state: PendingState;
  /** Why it was refused (state 'failed'). */
  reason?: string;
}

export interface ChatState {
  me: Me;
  rooms: Readonly<Record<string, RoomState>>;
  /** The conversation list's order. */
  order: readonly string[];
  /** Own messages in send order, across rooms: the outbox. */
  outbox: readonly Pending[];
  /** Live messages for rooms not on the page yet (e.g. between join_random and its history). */
  orphans: Readonly<Record<string, readonly Message[]>>;
  active: string | null;
  /** The reader sees the active room's pane (tab visible, and on a phone the pane is open). */
  looking: boolean;
  /** Phone layout: the pane is brought forward over the list. */
  paneOpen: boolean;
  connected: boolean;
  /** Next notice number. */
  nextSeq: number;
  /** Who is online, rooms' members, direct conversations' other person, the members panel (./presence.ts). */
  people: PeopleState;
}

/** A member of a room as the members panel shows them (the `members` answer, joins). */
export interface Person {
  uid: string;
  name: string;
  picture: string;
}

export interface PeopleState {
  /** uid → online, as last heard (`members`, `get_users`, `presence`, joins); absent: not known. */
  online: Readonly<Record<string, boolean>>;
  /** Room id → its members, from the last `members` answer and the joins and exits since. */
  rosters: Readonly<Record<string, readonly Person[]>>;
  /** Direct conversation's room id → the other person's uid. */
  peers: Readonly<Record<string, string>>;
  /** The room whose members panel is open. */
  panel: string | null;
}
