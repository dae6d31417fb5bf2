/**
 * Message fan-out, owned here: how a stored message reaches the sockets of its room on every
 * node. One Socket.IO room per chat room (`roomChannel`); on Redis, the posting script publishes
 * the message on the room's own sharded channel of @socket.io/redis-adapter's sharded adapter,
 * in that adapter's wire format, atomically with storing it (so deliveries follow storage order
 * and a message is published exactly when it is stored); in process, the store hands it to
 * `deliver`. Either way the chat handlers never emit messages themselves.
 *
 * The wire format and channel names below are the sharded adapter's (v8, socket.io-adapter's
 * ClusterAdapter): test/integration/fanout-wire.test.ts pins them against the real adapter.
 */
import { CHAT_NAMESPACE } from '../shared/events.js';
import type { Message } from '../shared/types.js';
import { tagged } from './keys.js';

/**
 * The Socket.IO room of a chat room. It carries the room's hash tag, so the adapter's channel for
 * it (`shardChannel`) lies in the same Redis Cluster slot as the room's keys: the posting script
 * may publish on it (SPUBLISH) from that slot.
 */
export const roomChannel = (roomId: string): string => `room:${tagged(roomId)}`;

/** The adapter's channel prefix (its `channelPrefix` option) for a deployment's key prefix. */
export function adapterChannelPrefix(redisPrefix: string): string {
  return `${redisPrefix}socket.io`;
}

/** The sharded adapter's channel of one Socket.IO room ("dynamic" subscription mode). */
export function shardChannel(channelPrefix: string, roomId: string): string {
  return `${channelPrefix}#${CHAT_NAMESPACE}#${roomChannel(roomId)}#`;
}

/** socket.io-adapter's MessageType.BROADCAST; socket.io-parser's EVENT packet type. */
const BROADCAST = 3;
const EVENT_PACKET = 2;
/** The uid Socket.IO's emitters publish under: never a node's own, so every node delivers. */
export const PUBLISHER_UID = 'emitter';

/** A message as the adapter broadcasts it to the room (what the Lua below encodes). */
export interface AdapterBroadcast {
  uid: string;
  nsp: string;
  type: number;
  data: {
    opts: { rooms: string[]; except: string[]; flags: Record<string, never> };
    packet: { type: number; data: ['internal_msg', Message] };
  };
}

export function broadcastOf(message: Message): AdapterBroadcast {
  return {
    uid: PUBLISHER_UID,
    nsp: CHAT_NAMESPACE,
    type: BROADCAST,
    data: {
      opts: { rooms: [roomChannel(message.room_id)], except: [], flags: {} },
      // No `nsp` in the packet: the receiving adapter's broadcast sets its own.
      packet: { type: EVENT_PACKET, data: ['internal_msg', message] },
    },
  };
}

/**
 * Lua: `publish_message(channel, message table, socket.io room)` SPUBLISHes what `broadcastOf`
 * makes, as JSON (the adapter reads JSON when the payload starts with `{`). The frame is spelled
 * out because cjson cannot write an empty array (`except`); the user's text goes through
 * cjson.encode only.
 */
export const LUA_PUBLISH_MESSAGE = `
local function publish_message(channel, message, room)
  local payload = '{"uid":"${PUBLISHER_UID}","nsp":"${CHAT_NAMESPACE}","type":${BROADCAST},"data":{"opts":{"rooms":['
    .. cjson.encode(room) .. '],"except":[],"flags":{}},"packet":{"type":${EVENT_PACKET},"data":["internal_msg",'
    .. cjson.encode(message) .. ']}}}'
  redis.call('SPUBLISH', channel, payload)
end
`;

/** The in-process store's way to the sockets (set by the socket server once it exists). */
export interface LocalFanout {
  deliver(message: Message): void;
}

/** A LocalFanout whose receiver is attached later (the store is made before the sockets). */
export function createLocalFanout(): LocalFanout & { attach(receiver: (message: Message) => void): void } {
  let receiver: ((message: Message) => void) | null = null;
  return {
    deliver: (message) => receiver?.(message),
    attach: (r) => {
      receiver = r;
    },
  };
}
