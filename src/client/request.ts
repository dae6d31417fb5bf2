/** Requests to the server with an acknowledgement and a deadline, and their failures in words. */
import type { Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '../shared/events.js';

export type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
export type Payload<E extends keyof ClientToServerEvents> = Parameters<ClientToServerEvents[E]>[0];
export type Reply<E extends keyof ClientToServerEvents> = Parameters<Parameters<ClientToServerEvents[E]>[1]>[0];
export type Request = <E extends keyof ClientToServerEvents>(ev: E, payload: Payload<E>) => Promise<Reply<E>>;

const ACK_TIMEOUT_MS = 10_000;

/**
 * Emits with an acknowledgement; rejects when none comes in time or the socket disconnects first.
 * (socket.io-client types the reply of `timeout().emitWithAck` as any; this restores the event
 * map's reply type.)
 */
export function requester(socket: ChatSocket, timeoutMs = ACK_TIMEOUT_MS): Request {
  return (ev, payload) => {
    const timed = socket.timeout(timeoutMs) as unknown as {
      emitWithAck(ev: string, payload: unknown): Promise<never>;
    };
    return timed.emitWithAck(ev, payload);
  };
}

/** A refusal or failure as the reader sees it: the reason itself, without an "Error:" prefix. */
export function reasonOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  if (/timed out|timeout/i.test(text)) return 'no answer from the server';
  if (/disconnected/i.test(text)) return 'the connection was lost';
  return text;
}
