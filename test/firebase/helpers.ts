/**
 * Shared by the Firebase suites, which run inside `firebase emulators:exec` (npm test --
 * firebase): users are made through the Auth emulator's REST API, servers are real chat nodes
 * (`node dist/main.js`) with AUTH=firebase, and forged tokens are built here by hand.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { getApps, initializeApp } from 'firebase-admin/app';
import { getAuth, type Auth } from 'firebase-admin/auth';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, ServerToClientEvents } from '../../src/shared/events.js';
import { root, startServer, type TestServer } from '../helpers/server.js';

export const EMULATOR_HOST = process.env.FIREBASE_AUTH_EMULATOR_HOST ?? '';
export const PROJECT_ID = 'demo-chat';
/** For `describe(..., { skip })`: these tests need the emulator that emulators:exec starts. */
export const NEEDS_EMULATOR: string | false = EMULATOR_HOST
  ? false
  : 'no Auth emulator (FIREBASE_AUTH_EMULATOR_HOST unset): run `npm test -- firebase`';

const IDENTITY = () => `http://${EMULATOR_HOST}/identitytoolkit.googleapis.com/v1`;

let built = false;
/** `npm test -- firebase` may run without the build stage: build dist/ and the bundles if stale. */
function ensureBuilt(): void {
  if (built) return;
  execFileSync(process.execPath, [path.join(root, 'scripts/ensure-build.mjs')], { cwd: root, stdio: 'ignore' });
  built = true;
}

export type FirebaseTestServer = Pick<TestServer, 'url' | 'stop' | 'output'>;

/** A real `node dist/main.js` with AUTH=firebase against the emulator (in-process store); it logs at
 * info whatever LOG_LEVEL says, as startServer reads the port from the "listening" line. */
export async function startFirebaseServer(env: Record<string, string> = {}): Promise<FirebaseTestServer> {
  ensureBuilt();
  return startServer({
    env: {
      AUTH: 'firebase',
      FIREBASE_PROJECT_ID: PROJECT_ID,
      FIREBASE_AUTH_EMULATOR_HOST: EMULATOR_HOST,
      ...env,
    },
  });
}

/** The admin SDK as an operator would use it (its own app, same project). */
export function adminAuth(): Auth {
  const app = getApps().find((a) => a.name === 'test-admin') ?? initializeApp({ projectId: PROJECT_ID }, 'test-admin');
  return getAuth(app);
}

export interface TestUser {
  uid: string;
  email: string;
  password: string;
  displayName: string;
  idToken: string;
}

async function identity<T>(op: string, body: object): Promise<T> {
  const res = await fetch(`${IDENTITY()}/${op}?key=any`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as T & { error?: { message?: string } };
  if (!res.ok) throw new Error(`${op}: ${res.status} ${json.error?.message ?? ''}`);
  return json;
}

export const uniqueEmail = (): string => `u-${randomUUID()}@example.com`;

/** A new email/password account, signed in (its ID token is fresh). */
export async function signUp(displayName = 'Ada Lovelace'): Promise<TestUser> {
  const email = uniqueEmail();
  const password = `pw-${randomUUID()}`;
  await identity('accounts:signUp', { email, password, displayName, returnSecureToken: true });
  // Signing in again gives a token that carries the display name.
  const { idToken, localId } = await identity<{ idToken: string; localId: string }>('accounts:signInWithPassword', {
    email,
    password,
    returnSecureToken: true,
  });
  return { uid: localId, email, password, displayName, idToken };
}

export async function signIn(email: string, password: string): Promise<string> {
  const { idToken } = await identity<{ idToken: string }>('accounts:signInWithPassword', {
    email,
    password,
    returnSecureToken: true,
  });
  return idToken;
}

export function postSessionLogin(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/sessionLogin`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** `__session=<value>` from a response's Set-Cookie, ready for a Cookie header. */
export function sessionCookieFrom(res: Response): string {
  const line = res.headers.getSetCookie().find((c) => c.startsWith('__session='));
  if (!line) throw new Error(`no __session cookie in ${JSON.stringify(res.headers.getSetCookie())}`);
  return line.split(';')[0] as string;
}

/** Signs in a user through POST /sessionLogin and returns the Cookie header value. */
export async function sessionFor(url: string, user: TestUser): Promise<string> {
  const res = await postSessionLogin(url, { idToken: user.idToken });
  if (res.status !== 200) throw new Error(`sessionLogin: ${res.status} ${await res.text()}`);
  return sessionCookieFrom(res);
}

export function getPage(url: string, path: string, cookie?: string): Promise<Response> {
  return fetch(`${url}${path}`, { redirect: 'manual', headers: cookie ? { cookie } : {} });
}

const b64url = (v: object | Buffer): string =>
  (Buffer.isBuffer(v) ? v : Buffer.from(JSON.stringify(v))).toString('base64url');

export function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [h, p] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h ?? '', 'base64url').toString()) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(p ?? '', 'base64url').toString()) as Record<string, unknown>,
  };
}

/** A JWT from parts; `signature` '' gives an unsigned token like the emulator's own. */
export function makeJwt(header: object, payload: object, signature: Buffer | '' = ''): string {
  return `${b64url(header)}.${b64url(payload)}.${signature === '' ? '' : b64url(signature)}`;
}

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Connects to /chat with a cookie: the socket, or the connect_error message. */
export function connectSocket(url: string, cookie: string): Promise<{ socket: ClientSocket } | { error: string }> {
  const socket: ClientSocket = io(`${url}/chat`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: 5000,
    extraHeaders: { cookie },
  });
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ socket }));
    socket.once('connect_error', (err) => {
      socket.close();
      resolve({ error: err.message });
    });
  });
}

/** Sessions are revoked by the second: a revocation in the sign-in's own second would not count. */
export const nextSecond = (): Promise<void> => new Promise((r) => setTimeout(r, 1100));

/** A user's profile as another signed-in user sees it (GET /chat/get_users). */
export async function profileSeenBy(url: string, cookie: string, uid: string): Promise<unknown> {
  const res = await getPage(url, '/chat/get_users', cookie);
  if (res.status !== 200) throw new Error(`get_users: ${res.status}`);
  return ((await res.json()) as Record<string, unknown>)[uid];
}
