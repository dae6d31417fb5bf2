/**
 * The Firebase sign-in page: email and password (sign-in or sign-up) and, where enabled, Google.
 * The SDK signs in, the ID token goes to POST /sessionLogin, and from then on the server's
 * httpOnly session cookie is the only credential: the SDK keeps nothing (in-memory persistence)
 * and signs itself out, so no token outlives the page.
 */
import { initializeApp } from 'firebase/app';
import {
  browserPopupRedirectResolver,
  connectAuthEmulator,
  createUserWithEmailAndPassword,
  GoogleAuthProvider,
  inMemoryPersistence,
  initializeAuth,
  signInWithEmailAndPassword,
  signInWithPopup,
  signOut,
  updateProfile,
  type Auth,
  type User,
} from 'firebase/auth';

const root = document.getElementById('firebase-login');

/** Firebase error codes in words a user can act on. */
const MESSAGES: Record<string, string> = {
  'auth/invalid-credential': 'Wrong email or password.',
  'auth/wrong-password': 'Wrong email or password.',
  'auth/user-not-found': 'Wrong email or password.',
  'auth/invalid-email': 'That email address is not valid.',
  'auth/email-already-in-use': 'An account with this email already exists: sign in instead.',
  'auth/weak-password': 'The password must be at least 6 characters.',
  'auth/missing-password': 'Enter a password.',
  'auth/too-many-requests': 'Too many attempts; try again in a few minutes.',
  'auth/popup-closed-by-user': 'The Google window was closed before signing in.',
  'auth/network-request-failed': 'The sign-in service cannot be reached.',
};

function showError(text: string): void {
  const box = document.getElementById('firebase-error');
  if (!box) return;
  box.textContent = text;
  box.classList.toggle('d-none', text === '');
}

function describe(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code in MESSAGES) return MESSAGES[code] as string;
  return err instanceof Error && err.message ? `Sign-in failed: ${err.message}` : 'Sign-in failed.';
}

function setBusy(busy: boolean): void {
  root?.querySelectorAll<HTMLButtonElement>('button[type="submit"], #google-signin').forEach((b) => {
    b.disabled = busy;
  });
}

/** Trades the fresh ID token for the server's session cookie, then leaves for the chat. */
async function startSession(auth: Auth, user: User): Promise<void> {
  // Forced refresh: after a sign-up the token must carry the display name just set.
  const idToken = await user.getIdToken(true);
  const res = await fetch('/sessionLogin', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    credentials: 'same-origin',
    body: JSON.stringify({ idToken }),
  });
  await signOut(auth);
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: unknown };
    throw new Error(typeof body.error === 'string' ? body.error : `the server answered ${res.status}`);
  }
  window.location.assign('/chat');
}

function field(form: HTMLFormElement, name: string): string {
  const el = form.elements.namedItem(name);
  return el instanceof HTMLInputElement ? el.value : '';
}

function run(auth: Auth, action: () => Promise<User>): void {
  showError('');
  setBusy(true);
  action()
    .then((user) => startSession(auth, user))
    .catch((err: unknown) => {
      showError(describe(err));
      setBusy(false);
    });
}

function setUpTabs(): void {
  const tabs = Array.from(root?.querySelectorAll<HTMLButtonElement>('[data-pane]') ?? []);
  for (const tab of tabs) {
    tab.addEventListener('click', () => {
      for (const t of tabs) {
        const active = t === tab;
        t.classList.toggle('active', active);
        t.setAttribute('aria-selected', String(active));
        document.getElementById(t.dataset.pane ?? '')?.classList.toggle('d-none', !active);
      }
      showError('');
    });
  }
}

function main(el: HTMLElement): void {
  const d = el.dataset;
  const app = initializeApp({
    apiKey: d.apiKey ?? '',
    authDomain: d.authDomain ?? '',
    projectId: d.projectId ?? '',
    ...(d.appId ? { appId: d.appId } : {}),
  });
  const auth = initializeAuth(app, {
    persistence: inMemoryPersistence,
    popupRedirectResolver: browserPopupRedirectResolver,
  });
  // The page shows its own emulator notice; the SDK's banner would cover the form.
  if (d.emulatorUrl) connectAuthEmulator(auth, d.emulatorUrl, { disableWarnings: true });

  setUpTabs();

  const signin = document.getElementById('pane-signin');
  if (signin instanceof HTMLFormElement) {
    signin.addEventListener('submit', (e) => {
      e.preventDefault();
      run(
        auth,
        async () =>
          (await signInWithEmailAndPassword(auth, field(signin, 'email').trim(), field(signin, 'password'))).user,
      );
    });
  }

  const signup = document.getElementById('pane-signup');
  if (signup instanceof HTMLFormElement) {
    signup.addEventListener('submit', (e) => {
      e.preventDefault();
      const name = field(signup, 'name').trim();
      if (name === '') {
        showError('Enter a name.');
        return;
      }
      run(auth, async () => {
        const { user } = await createUserWithEmailAndPassword(
          auth,
          field(signup, 'email').trim(),
          field(signup, 'password'),
        );
        await updateProfile(user, { displayName: name });
        return user;
      });
    });
  }

  const google = document.getElementById('google-signin');
  if (google && d.googleSignIn === 'true') {
    google.addEventListener('click', () => {
      run(auth, async () => (await signInWithPopup(auth, new GoogleAuthProvider())).user);
    });
  }

  setBusy(false);
}

if (root) main(root);
