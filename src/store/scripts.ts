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
 * room's slot when there is none), the sender's read marks (their own message is read).
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
redis.call('HSET', KEYS[5], ARGV[10], id)
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
 * KEYS: user's rooms, members, messages, user's random key, open random rooms, user's read marks.
 * ARGV: uid, room id, size. Returns {left, deleted}.
 */
export const LEAVE_ROOM = `
local uid, room, size = ARGV[1], ARGV[2], tonumber(ARGV[3])
if redis.call('SREM', KEYS[2], uid) == 0 then return {0, 0} end
redis.call('HDEL', KEYS[1], room)
redis.call('HDEL', KEYS[6], room)
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
 * Every room of one user, summarised for `joined` and the chat page, in one round trip.
 * KEYS: user's rooms, user's read marks. ARGV: messages pre, suf, uid, messages for the first
 * room, messages for the others, unread cap.
 * Returns {{room id, room name, last entry or false, last read or false, unread, entries}...},
 * newest activity first (the last entry's time; ties by room id); `entries` newest first.
 * Unread counts `user` entries of others after the read mark, reading at most `cap` entries: the
 * user's own messages move the mark, so what follows it is nearly all theirs to read.
 */
export const ROOM_SUMMARIES = `
local rooms = redis.call('HGETALL', KEYS[1])
local marks = {}
local flat = redis.call('HGETALL', KEYS[2])
for i = 1, #flat, 2 do marks[flat[i]] = flat[i + 1] end
local uid, per_first, per_other, cap = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local out = {}
for i = 1, #rooms, 2 do
  local key = ARGV[1] .. rooms[i] .. ARGV[2]
  local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)[1]
  local mark = marks[rooms[i]]
  local unread = 0
  local after = redis.call('XRANGE', key, mark and ('(' .. mark) or '-', '+', 'COUNT', cap)
  for _, e in ipairs(after) do
    local f = e[2]
    local kind, from = nil, nil
    for j = 1, #f, 2 do
      if f[j] == 'type' then kind = f[j + 1] elseif f[j] == 'uid' then from = f[j + 1] end
    end
    if kind == 'user' and from ~= uid then unread = unread + 1 end
  end
  local at = last and tonumber(string.match(last[1], '^(%d+)')) or 0
  out[#out + 1] = {rooms[i], rooms[i + 1], last or false, mark or false, unread, key, at}
end
table.sort(out, function(a, b)
  if a[7] ~= b[7] then return a[7] > b[7] end
  return a[1] < b[1]
end)
for n, r in ipairs(out) do
  local per = n == 1 and per_first or per_other
  local entries = {}
  if per > 0 then entries = redis.call('XREVRANGE', r[6], '+', '-', 'COUNT', per) end
  out[n] = {r[1], r[2], r[3], r[4], r[5], entries}
end
return out
`;

/**
 * KEYS: user's read marks, room members, room messages. ARGV: uid, room id, message id (canonical).
 * Moves the mark forward only, never past the room's newest message. Returns {0} when the user
 * is not a member, else {1, mark} (the mark as it now stands, or false when the room is empty).
 */
export const READ_MARK = `
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 0 then return {0} end
local function newer(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if #am ~= #bm then return #am > #bm end
  if am ~= bm then return am > bm end
  if #as ~= #bs then return #as > #bs end
  return as > bs
end
local id = ARGV[3]
local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)[1]
if not last then return {1, redis.call('HGET', KEYS[1], ARGV[2])} end
if newer(id, last[1]) then id = last[1] end
local cur = redis.call('HGET', KEYS[1], ARGV[2])
if cur and not newer(id, cur) then return {1, cur} end
redis.call('HSET', KEYS[1], ARGV[2], id)
return {1, id}
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

/**
 * The direct conversation of two users: made on first use, and either member who left it is
 * back in it on a later call.
 * KEYS: members, messages, rooms of a, rooms of b.
 * ARGV: room id, uid a, uid b, name of a, name of b, time, keep, max rooms per user.
 * Returns {'full', uid...} (nothing changed), or {created, added a, added b, opening id or false}.
 * Each side's rooms hash names the room after the other user.
 */
export const DIRECT_ROOM = `${SERVER_MESSAGE_FN}
local room, a, b, max = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[8])
local need_a = redis.call('SISMEMBER', KEYS[1], a) == 0
local need_b = redis.call('SISMEMBER', KEYS[1], b) == 0
local full = {}
if need_a and redis.call('HLEN', KEYS[3]) >= max then full[#full + 1] = a end
if need_b and redis.call('HLEN', KEYS[4]) >= max then full[#full + 1] = b end
if #full > 0 then return {'full', unpack(full)} end
local created = redis.call('EXISTS', KEYS[1]) == 0
local opening = false
if created then opening = server_message(KEYS[2], ARGV[7], 'Chat started by ' .. ARGV[4], ARGV[6]) end
redis.call('SADD', KEYS[1], a, b)
redis.call('HSET', KEYS[3], room, ARGV[5])
redis.call('HSET', KEYS[4], room, ARGV[4])
return {created and 1 or 0, need_a and 1 or 0, need_b and 1 or 0, opening}
`;
