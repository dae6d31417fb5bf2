/**
 * The Socket.IO event maps of namespace `/chat`, typed once for server and browser
 * (names as in the Socket.IO docs). Payload parameters are typed as the client sends them;
 * the server still validates every one at the boundary (src/shared/schemas.ts).
 */
import type {
  CatchUpResult,
  CatchUpRoom,
  Member,
  Message,
  PresenceEvent,
  ReadEvent,
  ResyncEvent,
  RoomRef,
  RoomSummary,
  RoomWithMessages,
  StatusEvent,
  TypingEvent,
} from './types.js';

export type AckOk<T extends object = object> = { ok: true } & T;
export type AckErr = { ok: false; error: string };
export type Ack<T extends object = object> = AckOk<T> | AckErr;
export type AckFn<T extends object = object> = (response: Ack<T>) => void;

export interface HistoryQuery {
  room_id: string;
  before?: string;
  after?: string;
  limit?: number;
}

export interface ClientToServerEvents {
  joined: (payload: Record<string, never>, ack: AckFn<{ rooms: RoomSummary[] }>) => void;
  text: (
    payload: { room_id: string; msg: string; client_id?: string },
    ack: AckFn<{ id: string; time: string }>,
  ) => void;
  join_random: (payload: Record<string, never>, ack: AckFn<RoomRef>) => void;
  exit_room: (payload: { room_id: string }, ack: AckFn) => void;
  history: (payload: HistoryQuery, ack: AckFn<{ messages: Message[] }>) => void;
  typing: (payload: { room_id: string }, ack: AckFn) => void;
  read: (payload: { room_id: string; id: string }, ack: AckFn<{ last_read: string | null }>) => void;
  members: (payload: { room_id: string }, ack: AckFn<{ members: Member[] }>) => void;
  /**
   * Not in the contract (the project's own): many rooms caught up in one event, so a page in
   * 1,000 rooms needs 10 events after a reconnect, not 1,000. Rooms the user is no longer in are
   * left out of the answer.
   */
  catch_up: (payload: { rooms: CatchUpRoom[] }, ack: AckFn<{ rooms: CatchUpResult[] }>) => void;
}

export interface ServerToClientEvents {
  internal_msg: (message: Message) => void;
  status: (status: StatusEvent) => void;
  room_added: (room: RoomWithMessages) => void;
  room_removed: (room: { room_id: string }) => void;
  typing: (typing: TypingEvent) => void;
  read: (read: ReadEvent) => void;
  presence: (presence: PresenceEvent) => void;
  /** Not in the contract (the project's own): catch up every room now (e.g. the node's adapter subscriber was lost). */
  resync: (event: ResyncEvent) => void;
}

/** Between nodes, through the adapter's channel that every node reads. */
export interface InterServerEvents {
  /** A session ended (sign-out, or a new sign-in in the same browser): its sockets are disconnected. */
  end_session: (uid: string, sessionId: string) => void;
}

export interface SocketData {
  uid: string;
  name: string;
  picture: string;
  /** This socket brought its user online and has not sent `joined` yet: that `joined` announces. */
  announce: boolean;
  /** The session its handshake signed in with, where there is one: sign-out disconnects by it. */
  sid?: string;
}

/**
 * Socket.IO room of one user (all of their tabs, on every node). A chat room's is `roomChannel`
 * in store/fanout.ts, which owns message fan-out.
 */
export const userChannel = (uid: string): string => `user:${uid}`;

export const CHAT_NAMESPACE = '/chat';
