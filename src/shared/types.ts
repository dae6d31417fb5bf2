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
