/** The chat page and its JSON routes (contract: /chat, /chat/get_users, /chat/create_chat). */
import express, { type Response, type Router } from 'express';
import type { AuthProvider } from '../auth/types.js';
import type { Config } from '../config.js';
import { LIMITS } from '../shared/limits.js';
import { nameKey } from '../shared/names.js';
import { createChatBody, directBody, usersQuery } from '../shared/schemas.js';
import type { RoomWithMessages } from '../shared/types.js';
import type { SocketLimiter } from '../chat/socket-limit.js';
import type { Limiter } from '../store/limiter.js';
import { RoomCapReached, type ChatStore } from '../store/types.js';
import { currentUser, loadUser, requireUser } from './require-user.js';

export interface ChatRouteDeps {
  config: Config;
  store: ChatStore;
  auth: AuthProvider;
  /** create_chat (and direct) per user per minute, across nodes. */
  limits: { rooms: Limiter };
  presence: Pick<SocketLimiter, 'online'>;
  /** Tells every member's sockets, on every node, about a room they were added to. */
  announceRoom: (room: RoomWithMessages, memberUids: string[]) => void;
}

export function chatRoutes({ config, store, auth, announceRoom, limits, presence }: ChatRouteDeps): Router {
  const router = express.Router();
  const withUser = loadUser(auth);

  /**
   * create_chat and direct make rooms under the same two limits: ROOMS_PER_MINUTE per user
   * (counted once the request is well-formed, so a typo costs nothing; 429) and the rooms one
   * user may be in (checked inside the store's script; 400 naming who is full). Null when
   * refused: the answer is sent.
   */
  async function makeRoom<T>(
    res: Response,
    uid: string,
    nameOf: (uid: string) => string,
    make: () => Promise<T>,
  ): Promise<T | null> {
    if (!(await limits.rooms.consume(uid))) {
      res.status(429).json({ status: 'ERROR', error: 'rate limited' });
      return null;
    }
    try {
      return await make();
    } catch (err) {
      if (!(err instanceof RoomCapReached)) throw err;
      const names = err.uids.map((u) => (u === uid ? 'you' : nameOf(u)));
      res.status(400).json({
        status: 'ERROR',
        error: `in ${config.maxRoomsPerUser} rooms already: ${names.slice(0, 5).join(', ')}`,
        users: err.uids,
      });
      return null;
    }
  }

  router.get('/', withUser, (_req, res) => {
    res.redirect(302, currentUser(res) ? '/chat' : '/login');
  });

  router.get('/chat', withUser, requireUser('page'), async (_req, res) => {
    const user = currentUser(res)!;
    // In `joined` order (newest activity first) with unread counts, one store round trip: the
    // first room with its last 50 messages, the others by their summary only (the page loads a
    // room's messages with `history` when it is opened, src/client/open-room.ts).
    const rooms = await store.roomSummaries(user.uid, LIMITS.pageMessages, 0);
    res.set('Cache-Control', 'no-store');
    // The same rooms go to the page as data too (views/chat.njk's data-chat), so the browser
    // starts its state from them instead of reading the rendered markup back.
    const chatData = { me: { uid: user.uid, name: user.name, picture: user.picture }, rooms };
    res.render('chat.njk', { user, rooms, chatData });
  });

  router.get('/chat/get_users', withUser, requireUser('json'), async (req, res) => {
    const me = currentUser(res)!;
    const query = usersQuery.safeParse(req.query);
    if (!query.success) {
      res.status(400).json({ status: 'ERROR', error: query.error.issues[0]?.message ?? 'bad query' });
      return;
    }
    const { q, limit } = query.data;
    // With `q`: a prefix search on the name index, one more than asked so the caller can be left out.
    const found =
      q === undefined
        ? await store.listUsers()
        : await store.searchUsers(nameKey(q.normalize('NFKC').trim()), limit + 1);
    const listed = found.filter((u) => u.uid !== me.uid).slice(0, q === undefined ? undefined : limit);
    const online = await presence.online(listed.map((u) => u.uid));
    const users: Record<string, { name: string; course: string; picture: string; online: boolean }> = {};
    for (const u of listed) {
      users[u.uid] = { name: u.name, course: u.course, picture: u.picture, online: online.has(u.uid) };
    }
    res.set('Cache-Control', 'no-store');
    res.json(users);
  });

  router.post('/chat/create_chat', withUser, requireUser('json'), async (req, res) => {
    const me = currentUser(res)!;
    if (config.createChatRole === 'mentor' && me.role !== 'mentor') {
      res.status(403).json({ status: 'ERROR', error: 'only mentors may create chats' });
      return;
    }
    const parsed = createChatBody.safeParse(req.body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      res
        .status(400)
        .json({ status: 'ERROR', error: `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}` });
      return;
    }
    const others = [...new Set(parsed.data.users)].filter((uid) => uid !== me.uid);
    const found = await store.getUsers(others);
    const unknown = others.filter((_, i) => found[i] === null);
    if (unknown.length > 0) {
      res.status(400).json({ status: 'ERROR', error: `unknown user: ${unknown.slice(0, 5).join(', ')}` });
      return;
    }
    const room = await makeRoom(
      res,
      me.uid,
      (uid) => found[others.indexOf(uid)]?.name ?? uid,
      () => store.createGroup(me, parsed.data.room_name, others),
    );
    if (!room) return;
    announceRoom(room, [me.uid, ...others]);
    res.json({ status: 'OK', room_id: room.room_id, room_name: room.room_name });
  });

  router.post('/chat/direct', withUser, requireUser('json'), async (req, res) => {
    const me = currentUser(res)!;
    const parsed = directBody.safeParse(req.body);
    if (!parsed.success) {
      res.status(400).json({ status: 'ERROR', error: parsed.error.issues[0]?.message ?? 'invalid body' });
      return;
    }
    if (parsed.data.uid === me.uid) {
      res.status(400).json({ status: 'ERROR', error: 'a direct conversation needs another user' });
      return;
    }
    const other = await store.getUser(parsed.data.uid);
    if (!other) {
      res.status(400).json({ status: 'ERROR', error: `unknown user: ${parsed.data.uid}` });
      return;
    }
    const direct = await makeRoom(
      res,
      me.uid,
      () => other.name,
      () => store.directRoom(me, other),
    );
    if (!direct) return;
    if (direct.added.length > 0) {
      const messages = direct.opening
        ? [direct.opening]
        : await store.history(direct.room_id, { limit: LIMITS.pageMessages });
      // Each side sees the room under the other's name.
      for (const uid of direct.added) {
        const room_name = uid === me.uid ? other.name : me.name;
        announceRoom({ room_id: direct.room_id, room_name, messages }, [uid]);
      }
    }
    res.json({ status: 'OK', room_id: direct.room_id, room_name: other.name });
  });

  return router;
}
