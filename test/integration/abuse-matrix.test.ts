/**
 * Every HTTP route and every Socket.IO client event, tried signed out, as a non-member and as a
 * member of the room it names: only the contract's answers. The table is checked against the
 * app itself (routes from the Express router stack, events from ClientToServerEvents in
 * src/shared/events.ts), so adding a route or an event without a row here fails this test.
 * AUTH=dev (POST /sessionLogin exists only with AUTH=firebase and is tested there).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createChatServer } from '../../src/server.js';
import { ERRORS } from '../../src/shared/limits.js';
import { connect, createChat, emitAck, login, marker, record, type ChatClient } from '../helpers/client.js';
import { cleanRedis, redisSkip, root, startInProcess, type InProcessServer } from '../helpers/server.js';

type Role = 'signed out' | 'non-member' | 'member';
const ROLES: Role[] = ['signed out', 'non-member', 'member'];

interface Ctx {
  url: string;
  /** The room the member is in and the non-member is not. */
  room: string;
  /** A second room of the member, for exit_room. */
  exitRoom: string;
  owner: { uid: string; cookie: string };
  user: Record<Exclude<Role, 'signed out'>, { uid: string; name: string; cookie: string }>;
  /** A new session of the role's user (for rows that end or replace a session). */
  fresh(role: Role): Promise<string>;
  socket(role: Exclude<Role, 'signed out'>): ChatClient;
}

interface Res {
  status: number;
  location: string | null;
  setCookie: string | null;
  type: string;
  text: string;
}

async function http(
  ctx: Ctx,
  method: string,
  route: string,
  opts: { cookie?: string; json?: unknown; origin?: string | null } = {},
): Promise<Res> {
  const headers: Record<string, string> = {};
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.json !== undefined) headers['content-type'] = 'application/json';
  // Same-origin, as the page's own forms and fetches, unless the row says otherwise.
  if (method !== 'GET' && opts.origin !== null) headers.origin = opts.origin ?? ctx.url;
  const res = await fetch(`${ctx.url}${route}`, {
    method,
    headers,
    redirect: 'manual',
    body: opts.json === undefined ? undefined : JSON.stringify(opts.json),
  });
  return {
    status: res.status,
    location: res.headers.get('location'),
    setCookie: res.headers.get('set-cookie'),
    type: res.headers.get('content-type') ?? '',
    text: await res.text(),
  };
}

const cookieOf = (r: Res): string => (r.setCookie ?? '').split(';')[0] ?? '';

/** A POST from another site must be refused whoever sends it. */
async function refusesForeignOrigin(ctx: Ctx, route: string, cookie: string | undefined, json: unknown) {
  const r = await http(ctx, 'POST', route, { cookie, json, origin: 'https://evil.example' });
  assert.equal(r.status, 403, `${route} from a foreign origin`);
}

async function signedOutIsRefused(ctx: Ctx): Promise<void> {
  await assert.rejects(connect(ctx.url, ''), (err: Error) => err.message === ERRORS.unauthorized);
}

/** Logout rows: a 303 to /login, and the session is gone afterwards. */
async function logoutRow(ctx: Ctx, role: Role, route: string): Promise<void> {
  const cookie = role === 'signed out' ? undefined : await ctx.fresh(role);
  await refusesForeignOrigin(ctx, route, cookie, {});
  const r = await http(ctx, 'POST', route, { cookie, json: {} });
  assert.equal(r.status, 303);
  assert.equal(r.location, '/login');
  if (cookie) {
    const after = await http(ctx, 'GET', '/chat/get_users', { cookie });
    assert.equal(after.status, 401, 'the ended session is refused');
  }
}

type Row = (ctx: Ctx, role: Role) => Promise<void>;

const HTTP_ROWS: Record<string, Row> = {
  'GET /': async (ctx, role) => {
    const cookie = role === 'signed out' ? undefined : ctx.user[role].cookie;
    const r = await http(ctx, 'GET', '/', { cookie });
    assert.equal(r.status, 302);
    assert.equal(r.location, role === 'signed out' ? '/login' : '/chat');
  },
  'GET /login': async (ctx, role) => {
    const cookie = role === 'signed out' ? undefined : ctx.user[role].cookie;
    const r = await http(ctx, 'GET', '/login', { cookie });
    assert.equal(r.status, 200);
    assert.match(r.type, /text\/html/);
    assert.match(r.text, /data-testid="login-name"/);
  },
  'POST /login': async (ctx, role) => {
    const cookie = role === 'signed out' ? undefined : await ctx.fresh(role);
    const name = role === 'signed out' ? 'matrix-newcomer' : ctx.user[role].name;
    await refusesForeignOrigin(ctx, '/login', cookie, { name });
    const bad = await http(ctx, 'POST', '/login', { cookie, json: { name: '   ' } });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /name/);
    const tooLong = await http(ctx, 'POST', '/login', { cookie, json: { name: 'x'.repeat(41) } });
    assert.equal(tooLong.status, 400);
    const badRole = await http(ctx, 'POST', '/login', { cookie, json: { name, role: 'admin' } });
    assert.equal(badRole.status, 400);
    const ok = await http(ctx, 'POST', '/login', { cookie, json: { name } });
    assert.equal(ok.status, 303);
    assert.equal(ok.location, '/chat');
    assert.ok(cookieOf(ok).startsWith('connect.sid='));
    if (cookie) assert.notEqual(cookieOf(ok), cookie, 'a new session id at sign-in');
  },
  'POST /logout': (ctx, role) => logoutRow(ctx, role, '/logout'),
  'POST /sessionLogout': (ctx, role) => logoutRow(ctx, role, '/sessionLogout'),
  'GET /chat': async (ctx, role) => {
    const cookie = role === 'signed out' ? undefined : ctx.user[role].cookie;
    const r = await http(ctx, 'GET', '/chat', { cookie });
    if (role === 'signed out') {
      assert.equal(r.status, 302);
      assert.equal(r.location, '/login');
      return;
    }
    assert.equal(r.status, 200);
    assert.ok(r.text.includes(`data-uid="${ctx.user[role].uid}"`));
    assert.equal(r.text.includes(`data-room-id="${ctx.room}"`), role === 'member', 'only members see the room');
  },
  'GET /chat/get_users': async (ctx, role) => {
    const cookie = role === 'signed out' ? undefined : ctx.user[role].cookie;
    const r = await http(ctx, 'GET', '/chat/get_users', { cookie });
    if (role === 'signed out') {
      assert.equal(r.status, 401);
      assert.equal((JSON.parse(r.text) as { status: string }).status, 'ERROR');
      return;
    }
    assert.equal(r.status, 200);
    const users = JSON.parse(r.text) as Record<string, { name: string; course: string; picture: string }>;
    assert.equal(users[ctx.user[role].uid], undefined, 'every user except the caller');
    assert.deepEqual(Object.keys(users[ctx.owner.uid] ?? {}).sort(), ['course', 'name', 'online', 'picture']);
  },
  'POST /chat/direct': async (ctx, role) => {
    const cookie = role === 'signed out' ? undefined : ctx.user[role].cookie;
    const body = { uid: ctx.owner.uid };
    await refusesForeignOrigin(ctx, '/chat/direct', cookie, body);
    const r = await http(ctx, 'POST', '/chat/direct', { cookie, json: body });
    if (role === 'signed out') {
      assert.equal(r.status, 401);
      return;
    }
    assert.equal(r.status, 200, r.text);
    const ok = JSON.parse(r.text) as Record<string, string>;
    assert.equal(ok.status, 'OK');
    const again = JSON.parse((await http(ctx, 'POST', '/chat/direct', { cookie, json: body })).text) as Record<
      string,
      string
    >;
    assert.equal(again.room_id, ok.room_id, 'the same room again');
    for (const bad of [{ uid: ctx.user[role].uid }, { uid: 'u-nobody' }, { uid: 7 }, {}, []]) {
      const r2 = await http(ctx, 'POST', '/chat/direct', { cookie, json: bad });
      assert.equal(r2.status, 400, JSON.stringify(bad));
      assert.equal((JSON.parse(r2.text) as { status: string }).status, 'ERROR');
    }
  },
  'POST /chat/create_chat': async (ctx, role) => {
    const cookie = role === 'signed out' ? undefined : ctx.user[role].cookie;
    const body = { room_name: 'matrix group', users: [ctx.owner.uid] };
    await refusesForeignOrigin(ctx, '/chat/create_chat', cookie, body);
    const r = await http(ctx, 'POST', '/chat/create_chat', { cookie, json: body });
    if (role === 'signed out') {
      assert.equal(r.status, 401);
      return;
    }
    assert.equal(r.status, 200);
    const ok = JSON.parse(r.text) as Record<string, string>;
    assert.equal(ok.status, 'OK');
    assert.match(ok.room_id!, new RegExp(`^${ctx.user[role].uid}_\\d+$`));
    for (const bad of [
      { room_name: '', users: [] },
      { room_name: 'x', users: ['u-nobody'] },
      { room_name: 'x'.repeat(41), users: [] },
      { room_name: 'x', users: 'not-a-list' },
      [],
    ]) {
      const r2 = await http(ctx, 'POST', '/chat/create_chat', { cookie, json: bad });
      assert.equal(r2.status, 400, JSON.stringify(bad));
      assert.equal((JSON.parse(r2.text) as { status: string }).status, 'ERROR');
    }
  },
  'GET /healthz': async (ctx, role) => {
    const r = await http(ctx, 'GET', '/healthz', { cookie: role === 'signed out' ? undefined : ctx.user[role].cookie });
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.text), { status: 'ok' });
  },
  'GET /readyz': async (ctx, role) => {
    const r = await http(ctx, 'GET', '/readyz', { cookie: role === 'signed out' ? undefined : ctx.user[role].cookie });
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.text), { status: 'ok' });
  },
  // The test reaches the node over loopback, which may read metrics whoever is signed in (the
  // token and non-loopback callers: metrics.test.ts).
  'GET /metrics': async (ctx, role) => {
    const r = await http(ctx, 'GET', '/metrics', { cookie: role === 'signed out' ? undefined : ctx.user[role].cookie });
    assert.equal(r.status, 200);
    assert.match(r.text, /^chat_connected_sockets\{node="[^"]+"\} \d+$/m);
  },
};

type Member = Exclude<Role, 'signed out'>;
/** An acknowledgement, loosely typed: the rows check its shape themselves. */
type Answer = { ok: boolean; error?: string } & Record<string, unknown>;
const evt = async (ctx: Ctx, role: Member, event: string, payload: unknown): Promise<Answer> =>
  (await emitAck(ctx.socket(role), event, payload)) as unknown as Answer;

const EVENT_ROWS: Record<string, Row> = {
  joined: async (ctx, role) => {
    if (role === 'signed out') return signedOutIsRefused(ctx);
    const r = await evt(ctx, role, 'joined', {});
    assert.equal(r.ok, true);
    const rooms = (r.rooms as { room_id: string }[]).map((x) => x.room_id);
    assert.equal(rooms.includes(ctx.room), role === 'member');
  },
  text: async (ctx, role) => {
    if (role === 'signed out') return signedOutIsRefused(ctx);
    const r = await evt(ctx, role, 'text', { room_id: ctx.room, msg: `hello from ${role}` });
    if (role === 'non-member') return assert.deepEqual(r, { ok: false, error: ERRORS.notMember });
    assert.equal(r.ok, true);
    assert.match(String(r.id), /^\d+-\d+$/);
    assert.ok(!Number.isNaN(Date.parse(String(r.time))));
  },
  join_random: async (ctx, role) => {
    if (role === 'signed out') return signedOutIsRefused(ctx);
    const r = await evt(ctx, role, 'join_random', {});
    assert.equal(r.ok, true);
    assert.match(String(r.room_id), /^Random_\d+$/);
    const again = await evt(ctx, role, 'join_random', {});
    assert.equal(again.room_id, r.room_id, 'same room back');
  },
  exit_room: async (ctx, role) => {
    if (role === 'signed out') return signedOutIsRefused(ctx);
    if (role === 'non-member') {
      return assert.deepEqual(await evt(ctx, role, 'exit_room', { room_id: ctx.room }), {
        ok: false,
        error: ERRORS.notMember,
      });
    }
    assert.deepEqual(await evt(ctx, role, 'exit_room', { room_id: ctx.exitRoom }), { ok: true });
    assert.deepEqual(await evt(ctx, role, 'exit_room', { room_id: ctx.exitRoom }), {
      ok: false,
      error: ERRORS.notMember,
    });
  },
  history: async (ctx, role) => {
    if (role === 'signed out') return signedOutIsRefused(ctx);
    const r = await evt(ctx, role, 'history', { room_id: ctx.room });
    if (role === 'non-member') return assert.deepEqual(r, { ok: false, error: ERRORS.notMember });
    assert.equal(r.ok, true);
    assert.ok(Array.isArray(r.messages));
  },
  typing: async (ctx, role) => {
    if (role === 'signed out') return signedOutIsRefused(ctx);
    const r = await evt(ctx, role, 'typing', { room_id: ctx.room });
    if (role === 'non-member') return assert.deepEqual(r, { ok: false, error: ERRORS.notMember });
    assert.deepEqual(r, { ok: true });
  },
  read: async (ctx, role) => {
    if (role === 'signed out') return signedOutIsRefused(ctx);
    const r = await evt(ctx, role, 'read', { room_id: ctx.room, id: '0-1' });
    if (role === 'non-member') return assert.deepEqual(r, { ok: false, error: ERRORS.notMember });
    assert.equal(r.ok, true);
    assert.ok(r.last_read === null || /^\d+-\d+$/.test(String(r.last_read)));
  },
  members: async (ctx, role) => {
    if (role === 'signed out') return signedOutIsRefused(ctx);
    const r = await evt(ctx, role, 'members', { room_id: ctx.room });
    if (role === 'non-member') return assert.deepEqual(r, { ok: false, error: ERRORS.notMember });
    assert.equal(r.ok, true);
    const uids = (r.members as { uid: string }[]).map((m) => m.uid);
    assert.ok(uids.includes(ctx.user.member.uid) && uids.includes(ctx.owner.uid));
  },
  catch_up: async (ctx, role) => {
    if (role === 'signed out') return signedOutIsRefused(ctx);
    const r = await evt(ctx, role, 'catch_up', { rooms: [{ room_id: ctx.room, after: '0-0' }] });
    assert.equal(r.ok, true);
    // A room the user is not in is left out of the answer: nothing of it is read out.
    const rooms = r.rooms as { room_id: string; messages: unknown[] }[];
    if (role === 'non-member') return assert.deepEqual(rooms, []);
    assert.deepEqual(
      rooms.map((x) => x.room_id),
      [ctx.room],
    );
    assert.ok(rooms[0]!.messages.length > 0);
  },
};

/** Every route of the app, as `METHOD /path`, found by walking the Express router stack. */
async function appRoutes(): Promise<string[]> {
  const config = loadConfig({ NODE_ENV: 'test', AUTH: 'dev' });
  const server = await createChatServer(config, createLogger('silent'));
  type Layer = {
    rawPath?: unknown;
    route?: { path: string; methods: Record<string, boolean> };
    handle?: { stack?: Layer[] };
  };
  const found: string[] = [];
  const walk = (stack: Layer[], prefix: string): void => {
    for (const layer of stack) {
      if (layer.route) {
        for (const m of Object.keys(layer.route.methods)) {
          if (m !== '_all') found.push(`${m.toUpperCase()} ${prefix}${layer.route.path}`);
        }
      } else if (layer.handle?.stack) {
        // A router mounted under a path (app.use('/x', router)) prefixes its routes.
        const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
        walk(layer.handle.stack, prefix + mount);
      }
    }
  };
  walk((server.app as unknown as { router: { stack: Layer[] } }).router.stack, '');
  await server.shutdown('route listing');
  return found.sort();
}

/** The keys of ClientToServerEvents, read from the one event map. */
function clientEvents(): string[] {
  const src = readFileSync(path.join(root, 'src', 'shared', 'events.ts'), 'utf8');
  const block = /export interface ClientToServerEvents \{([\s\S]*?)\n\}/.exec(src)?.[1];
  assert.ok(block, 'ClientToServerEvents found in src/shared/events.ts');
  return [...block.matchAll(/^\s{2}(\w+)\s*:/gm)].map((m) => m[1]!).sort();
}

describe('abuse matrix: the table covers every route and event', () => {
  it('has a row for every HTTP route of the app, and no row for a route that is gone', async () => {
    const routes = await appRoutes();
    console.log(`[abuse-matrix] routes found: ${routes.join(', ')}`);
    assert.deepEqual(Object.keys(HTTP_ROWS).sort(), routes);
  });
  it('has a row for every client-to-server event, and no row for an event that is gone', () => {
    const events = clientEvents();
    console.log(`[abuse-matrix] events found: ${events.join(', ')}`);
    assert.deepEqual(Object.keys(EVENT_ROWS).sort(), events);
  });
});

describe('abuse matrix: signed out, non-member, member', { timeout: 120_000 }, () => {
  let server: InProcessServer;
  const sockets: ChatClient[] = [];
  const ctx = {} as Ctx;
  let seenByOwner: ReturnType<typeof record<'internal_msg' | 'typing' | 'status'>>;
  let ownerSocket: ChatClient;

  before(async () => {
    server = await startInProcess({ redis: !redisSkip });
    ctx.url = server.url;
    const owner = await login(server.url, 'matrix-owner');
    const member = await login(server.url, 'matrix-member');
    const outsider = await login(server.url, 'matrix-outsider');
    ctx.owner = owner;
    ctx.user = { member, 'non-member': outsider };
    ctx.room = (await createChat(server.url, owner.cookie, 'matrix', [member.uid])).body.room_id!;
    ctx.exitRoom = (await createChat(server.url, owner.cookie, 'matrix exit', [member.uid])).body.room_id!;
    ctx.fresh = async (role) => (role === 'signed out' ? '' : (await login(server.url, ctx.user[role].name)).cookie);
    const byRole: Partial<Record<Member, ChatClient>> = {};
    for (const role of ['member', 'non-member'] as const) {
      byRole[role] = await connect(server.url, ctx.user[role].cookie);
      sockets.push(byRole[role]);
    }
    ctx.socket = (role) => byRole[role]!;
    ownerSocket = await connect(server.url, owner.cookie);
    sockets.push(ownerSocket);
    await emitAck(ownerSocket, 'joined', {});
    seenByOwner = record(ownerSocket, 'internal_msg', 'typing', 'status');
  });
  after(async () => {
    for (const s of sockets) s.close();
    await server?.stop();
    if (server) await cleanRedis(server.prefix);
  });

  const cells: [string, Row][] = [...Object.entries(HTTP_ROWS), ...Object.entries(EVENT_ROWS)];
  for (const [row, check] of cells) {
    for (const role of ROLES) {
      it(`${row} — ${role}`, () => check(ctx, role));
    }
  }

  it('nothing the non-member tried reached the room', async () => {
    // Every row was answered before this; whatever they sent the owner has arrived by the marker.
    await marker(ownerSocket);
    const outsider = ctx.user['non-member'].uid;
    // In rooms the non-member made itself (create_chat rows) it is a member; only ctx.room counts.
    const leaked = seenByOwner.all.filter(
      (e) => (e.data as { uid?: string }).uid === outsider && (e.data as { room_id?: string }).room_id === ctx.room,
    );
    const fromMember = seenByOwner.of('internal_msg').filter((m) => m.uid === ctx.user.member.uid).length;
    console.log(
      `[abuse-matrix] owner saw ${seenByOwner.all.length} events; in the room from the non-member: ${leaked.length}`,
    );
    assert.deepEqual(leaked, []);
    assert.equal(fromMember, 1, "the member's one text arrived once");
  });
});
