/**
 * After Firebase sign-in: chatting over Socket.IO with the session cookie, and signing out —
 * by the user (/logout, /sessionLogout) or by an admin (revokeRefreshTokens) — which must shut
 * the old cookie out of pages and sockets at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Message } from '../../src/shared/types.js';
import {
  NEEDS_EMULATOR,
  adminAuth,
  connectSocket,
  getPage,
  nextSecond,
  postSessionLogin,
  sessionFor,
  signIn,
  signUp,
  startFirebaseServer,
  type ClientSocket,
  type FirebaseTestServer as TestServer,
} from './helpers.js';

async function openSocket(url: string, cookie: string): Promise<ClientSocket> {
  const r = await connectSocket(url, cookie);
  if ('error' in r) throw new Error(`socket refused: ${r.error}`);
  return r.socket;
}

async function assertShutOut(server: TestServer, cookie: string): Promise<void> {
  const page = await getPage(server.url, '/chat', cookie);
  assert.equal(page.status, 302);
  assert.equal(page.headers.get('location'), '/login');
  const json = await getPage(server.url, '/chat/get_users', cookie);
  assert.equal(json.status, 401);
  const socket = await connectSocket(server.url, cookie);
  assert.deepEqual(socket, { error: 'unauthorized' });
}

/** Resolves when the socket is disconnected by the server, or rejects after `ms`. */
function disconnected(socket: ClientSocket, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    if (socket.disconnected) return resolve('already');
    const t = setTimeout(() => reject(new Error('socket still connected')), ms);
    socket.once('disconnect', (reason) => {
      clearTimeout(t);
      resolve(reason);
    });
  });
}

describe('firebase: chatting and signing out', { skip: NEEDS_EMULATOR }, () => {
  let server: TestServer;
  const sockets: ClientSocket[] = [];
  before(async () => {
    server = await startFirebaseServer();
  });
  after(async () => {
    for (const s of sockets) s.close();
    await server?.stop();
  });

  it('a Firebase user chats over Socket.IO with the session cookie', async () => {
    const user = await signUp('Katherine Johnson');
    const cookie = await sessionFor(server.url, user);
    const socket = await openSocket(server.url, cookie);
    sockets.push(socket);

    const joined = await socket.timeout(5000).emitWithAck('joined', {});
    assert.equal(joined.ok, true);
    const room = await socket.timeout(5000).emitWithAck('join_random', {});
    assert.ok(room.ok, JSON.stringify(room));

    const received = new Promise<Message>((resolve) =>
      socket.on('internal_msg', (m) => m.type === 'user' && resolve(m)),
    );
    const sent = await socket.timeout(5000).emitWithAck('text', { room_id: room.room_id, msg: 'hello from firebase' });
    assert.ok(sent.ok, JSON.stringify(sent));
    const msg = await received;
    assert.equal(msg.msg, 'hello from firebase');
    assert.equal(msg.uid, user.uid);
    assert.equal(msg.name, 'Katherine Johnson');
    assert.equal(msg.room_id, room.room_id);
  });

  for (const route of ['/logout', '/sessionLogout']) {
    it(`POST ${route} revokes the session: the old cookie opens neither /chat nor a socket`, async () => {
      const user = await signUp();
      const cookie = await sessionFor(server.url, user);
      const socket = await openSocket(server.url, cookie);
      sockets.push(socket);
      assert.equal((await getPage(server.url, '/chat', cookie)).status, 200);
      await nextSecond();

      const res = await fetch(`${server.url}${route}`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie, origin: server.url },
      });
      assert.equal(res.status, 303);
      assert.equal(res.headers.get('location'), '/login');
      const cleared = res.headers.getSetCookie().find((c) => c.startsWith('__session=')) ?? '';
      assert.match(cleared, /^__session=;/);
      assert.match(cleared, /Expires=Thu, 01 Jan 1970/);

      await assertShutOut(server, cookie);
      // The open socket of that user is closed too.
      await disconnected(socket, 5000);
      // And the ID token it signed in with cannot be exchanged again.
      const again = await postSessionLogin(server.url, { idToken: user.idToken });
      assert.equal(again.status, 401);
    });
  }

  it('an admin revokeRefreshTokens shuts the old cookie out; a new sign-in works', async () => {
    const user = await signUp();
    const cookie = await sessionFor(server.url, user);
    assert.equal((await getPage(server.url, '/chat', cookie)).status, 200);
    const socket = await openSocket(server.url, cookie);
    socket.close();
    await nextSecond();

    await adminAuth().revokeRefreshTokens(user.uid);
    await assertShutOut(server, cookie);

    await nextSecond();
    const fresh = await sessionFor(server.url, { ...user, idToken: await signIn(user.email, user.password) });
    assert.equal((await getPage(server.url, '/chat', fresh)).status, 200);
    const s2 = await openSocket(server.url, fresh);
    sockets.push(s2);
    assert.equal((await s2.timeout(5000).emitWithAck('joined', {})).ok, true);
  });

  it('a disabled account is shut out at once', async () => {
    const user = await signUp();
    const cookie = await sessionFor(server.url, user);
    assert.equal((await getPage(server.url, '/chat', cookie)).status, 200);
    await adminAuth().updateUser(user.uid, { disabled: true });
    await assertShutOut(server, cookie);
  });

  it('a request without a cookie, or with an empty one, is signed out', async () => {
    await assertShutOut(server, '');
    await assertShutOut(server, '__session=');
  });
});
