/** Data shapes of the contract, shared by server and browser. */

export type Role = 'student' | 'mentor';

export interface UserProfile {
  uid: string;
  name: string;
  course: string;
  role: Role;
  /** An image URL, or '' for the default avatar. Never trusted as HTML. */
  picture: string;
}

/** One stored message; `id` orders the messages of a room. */
export interface Message {
  id: string;
  room_id: string;
  uid: string;
  name: string;
  picture: string;
  msg: string;
  /** ISO-8601 instant set by the server. */
  time: string;
  type: 'user' | 'server';
  /** The sender's id for this message (CONTRACT "Sending exactly once"); absent when sent without one. */
  client_id?: string;
}

export interface RoomRef {
  room_id: string;
  room_name: string;
}

export interface RoomWithMessages extends RoomRef {
  messages: Message[];
}

/** A room as `joined` lists it (CONTRACT): its newest message, the user's read mark, unread count. */
export interface RoomSummary extends RoomRef {
  last_message: Message | null;
  /** The id of the newest message the user has read, or null. */
  last_read: string | null;
  /** `user` messages by other users after last_read (exact up to 99 at least). */
  unread: number;
}

/** A room as GET /chat hands it to the page: its summary, and the messages rendered with it. */
export interface RoomView extends RoomSummary {
  messages: Message[];
}

/** `members`: one member of a room. */
export interface Member {
  uid: string;
  name: string;
  picture: string;
  online: boolean;
}

/** `read` (server to client): the user's read mark in a room moved. */
export interface ReadEvent {
  room_id: string;
  last_read: string;
}

/** `presence`: a user sharing a room with this socket's user came online or went offline. */
export interface PresenceEvent {
  uid: string;
  online: boolean;
}

export interface StatusEvent {
  type: 'join' | 'exit';
  room_id: string;
  uid: string;
  name: string;
  picture: string;
  msg: string;
  time: string;
}

export interface TypingEvent {
  room_id: string;
  uid: string;
  name: string;
}

/** One room's part of a `catch_up` request: everything strictly after `after` is wanted. */
export interface CatchUpRoom {
  room_id: string;
  after: string;
}

/** One room's part of a `catch_up` answer: the oldest messages after the mark, oldest first. */
export interface CatchUpResult {
  room_id: string;
  messages: Message[];
  /** True when the room has more after the last message given: page on with `history {after}`. */
  more: boolean;
}

/** `resync`: live deliveries to this socket may have been missed; catch up every room. */
export interface ResyncEvent {
  reason: 'subscriber' | 'failover';
}
