/**
 * The store's Lua scripts, as strings because tsc copies no .lua files to dist/. Each runs
 * atomically in Redis, so no two nodes can race a read into a write (room numbers, random-room
 * capacity, the rate limit). Keys of rooms the caller cannot name in advance are built inside
 * the script from templates made by keys.ts (`pre .. roomId .. suf`), so keys.ts stays the one
 * place that spells a key. Scripts touch undeclared keys: fine for one Redis, not for a Cluster.
 */

/** XADD of a server message; `MAXLEN ~` keeps at least historyKeep entries. */
const SERVER_MESSAGE_FN = `
local function server_message(key, keep, msg, time)
  return redis.call('XADD', key, 'MAXLEN', '~', keep, '*',
    'uid', '', 'name', '', 'picture', '', 'msg', msg, 'type', 'server', 'time', time)
end
`;

/**
 * KEYS: members, rate log, messages, client id (the sender's `client_id` key; any key of the
 * room's slot when there is none).
 * ARGV: uid, name, picture, msg, type, time, rate count, window ms, keep, room id, channel ('' = none),
 *       namespace, Socket.IO room (the last three as the adapter spells them; see RedisStore),
 *       client id ('' = none), client id keep ms.
 * Returns {0, reason}, {1, id, published}, or {2, "<id> <time>"} when the client id was stored
 * already (a resend: nothing stored, published or counted).
 */
export const POST_MESSAGE = `
local cid = ARGV[14]
if cid ~= '' then
  local prev = redis.call('GET', KEYS[4])
  if prev then return {2, prev} end
end
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return {0, 'not a member'} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[8])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[7]) then return {0, 'rate limited'} end
local fields = {'uid', ARGV[1], 'name', ARGV[2], 'picture', ARGV[3], 'msg', ARGV[4], 'type', ARGV[5], 'time', ARGV[6]}
if cid ~= '' then
  fields[#fields + 1] = 'client_id'
  fields[#fields + 1] = cid
end
local id = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[9], '*', unpack(fields))
redis.call('ZADD', KEYS[2], now, ARGV[10] .. ' ' .. id)
redis.call('PEXPIRE', KEYS[2], window)
if cid ~= '' then redis.call('SET', KEYS[4], id .. ' ' .. ARGV[6], 'PX', ARGV[15]) end
if ARGV[11] == '' then return {1, id, 0} end
-- The @socket.io/redis-adapter wire format: [sender uid, packet, opts]. "store" is never an
-- adapter's own uid, so every node (this one included) delivers it, in storage order.
local message = {id = id, room_id = ARGV[10], uid = ARGV[1], name = ARGV[2], picture = ARGV[3],
  msg = ARGV[4], time = ARGV[6], type = ARGV[5]}
if cid ~= '' then message.client_id = cid end
local packet = {type = 2, data = {'internal_msg', message}, nsp = ARGV[12]}
redis.call('PUBLISH', ARGV[11], cmsgpack.pack({'store', packet, {rooms = {ARGV[13]}}}))
return {1, id, 1}
`;

/**
 * KEYS: user's random key, open random rooms, random counter, user's rooms.
 * ARGV: members pre, suf, messages pre, suf, uid, user name, size, time, keep.
 * Returns {joined, room id, opening id or false}. A random room's name is its id.
 */
export const JOIN_RANDOM = `${SERVER_MESSAGE_FN}
local mpre, msuf, xpre, xsuf = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local uid, size = ARGV[5], tonumber(ARGV[7])
local cur = redis.call('GET', KEYS[1])
if cur and redis.call('SISMEMBER', mpre .. cur .. msuf, uid) == 1 then
  return {0, cur, false}
end
local room, opening
local top = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if top[1] then
  room = top[1]
else
  local n = redis.call('INCR', KEYS[3]) - 1
  room = 'Random_' .. string.format('%d', n)
  opening = server_message(xpre .. room .. xsuf, ARGV[9], 'Chat started by ' .. ARGV[6], ARGV[8])
  top = {room, n}
end
local members = mpre .. room .. msuf
redis.call('SADD', members, uid)
redis.call('HSET', KEYS[4], room, room)
redis.call('SET', KEYS[1], room)
if redis.call('SCARD', members) >= size then
  redis.call('ZREM', KEYS[2], room)
else
  redis.call('ZADD', KEYS[2], top[2], room)
end
return {1, room, opening or false}
`;

/**
 * KEYS: user's rooms, members, messages, user's random key, open random rooms.
 * ARGV: uid, room id, size. Returns {left, deleted}.
 */
export const LEAVE_ROOM = `
local uid, room, size = ARGV[1], ARGV[2], tonumber(ARGV[3])
if redis.call('SREM', KEYS[2], uid) == 0 then return {0, 0} end
redis.call('HDEL', KEYS[1], room)
if redis.call('GET', KEYS[4]) == room then redis.call('DEL', KEYS[4]) end
local left = redis.call('SCARD', KEYS[2])
if left == 0 then
  redis.call('DEL', KEYS[2], KEYS[3])
  redis.call('ZREM', KEYS[5], room)
  return {1, 1}
end
local n = string.match(room, '^Random_(%d+)$')
if n and left < size then redis.call('ZADD', KEYS[5], n, room) end
return {1, 0}
`;

/**
 * KEYS: creator's room counter.
 * ARGV: members pre, suf, messages pre, suf, user-rooms pre, suf,
 *       creator uid, creator name, room name, time, keep, max rooms per user, member uids...
 * Returns {room id, opening id}, or {'full', uid...} (nothing changed) when members are in
 * `max rooms` rooms already. The name lives in each member's rooms hash, where it is read.
 */
export const CREATE_GROUP = `${SERVER_MESSAGE_FN}
local max = tonumber(ARGV[12])
local full = {}
for i = 13, #ARGV do
  if redis.call('HLEN', ARGV[5] .. ARGV[i] .. ARGV[6]) >= max then full[#full + 1] = ARGV[i] end
end
if #full > 0 then return {'full', unpack(full)} end
local n = redis.call('INCR', KEYS[1]) - 1
local room = ARGV[7] .. '_' .. string.format('%d', n)
local members = ARGV[1] .. room .. ARGV[2]
for i = 13, #ARGV do
  redis.call('SADD', members, ARGV[i])
  redis.call('HSET', ARGV[5] .. ARGV[i] .. ARGV[6], room, ARGV[9])
end
local opening = server_message(ARGV[3] .. room .. ARGV[4], ARGV[11], 'Chat started by ' .. ARGV[8], ARGV[10])
return {room, opening}
`;

/**
 * KEYS: user's rooms. ARGV: messages pre, suf, per room.
 * Returns {{room id, room name, {entries newest first}}...}: every room in one round trip.
 */
export const ROOMS_WITH_MESSAGES = `
local rooms = redis.call('HGETALL', KEYS[1])
local per = tonumber(ARGV[3])
local out = {}
for i = 1, #rooms, 2 do
  local entries = {}
  if per > 0 then
    entries = redis.call('XREVRANGE', ARGV[1] .. rooms[i] .. ARGV[2], '+', '-', 'COUNT', per)
  end
  out[#out + 1] = {rooms[i], rooms[i + 1], entries}
end
return out
`;

/**
 * KEYS: account names, users, passwords, user index. ARGV: name key, uid, profile JSON, password
 * hash, index entry. Returns 1, or 0 when the name is taken (nothing changed).
 */
export const CREATE_ACCOUNT = `
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[4])
redis.call('ZADD', KEYS[4], 0, ARGV[5])
return 1
`;
