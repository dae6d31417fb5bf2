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
