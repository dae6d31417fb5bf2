/**
 * Desktop notifications, only once the reader asked for them with the header's button (the
 * browser's permission is never requested on load). The choice is kept per user in localStorage.
 * A message of another member (never an own one, never a server notice) notifies when its room is
 * not in view or the tab is hidden; clicking the notification brings the window forward and opens
 * the room. Notifications show text only: the browser never renders their body as markup.
 */
import { roomLabel } from '../shared/room-label.js';
import type { Message } from '../shared/types.js';
import type { Store } from './store.js';

export interface NotifyDeps {
  app: HTMLElement;
  store: Store;
  /** Whether the reader sees this room now. */
  inView(roomId: string): boolean;
  /** Opens the room (its pane forward, focus in its box). */
  open(roomId: string): void;
}

export interface Notifier {
  /** A stored message arrived live. */
  message(m: Message): void;
}

type Choice = 'on' | 'off';

export function setUpNotifications({ app, store, inView, open }: NotifyDeps): Notifier {
  const button = app.querySelector<HTMLButtonElement>('[data-testid="notify-toggle"]')!;
  const label = button.querySelector<HTMLElement>('[data-testid="notify-label"]')!;
  const icon = button.querySelector<HTMLElement>('.bi')!;
  const key = `chat-notify:${store.state.me.uid}`;
  const supported = typeof window.Notification === 'function';

  const stored = (): Choice => {
    try {
      return window.localStorage.getItem(key) === 'on' ? 'on' : 'off';
    } catch {
      return 'off';
    }
  };
  const remember = (choice: Choice): void => {
    try {
      window.localStorage.setItem(key, choice);
    } catch {
      // Storage disabled: the choice lasts as long as the page.
    }
  };
  let choice = stored();
  /** Messages notified lately: a message delivered twice notifies once. */
  const notified = new Set<string>();
  const enabled = (): boolean => supported && choice === 'on' && Notification.permission === 'granted';

  function show(): void {
    if (!supported) return;
    button.hidden = false;
    const denied = Notification.permission === 'denied';
    const on = enabled();
    button.setAttribute('aria-pressed', String(on));
    // Bootstrap's pressed look for a toggle button.
    button.classList.toggle('active', on);
    button.disabled = denied;
    label.textContent = denied ? 'Notifications blocked' : 'Notifications';
    button.title = denied
      ? 'Notifications are blocked in the browser’s site settings'
      : on
        ? 'Desktop notifications are on: press to turn them off'
        : 'Press to get desktop notifications of new messages';
    icon.classList.toggle('bi-bell-fill', on);
    icon.classList.toggle('bi-bell', !on && !denied);
    icon.classList.toggle('bi-bell-slash', denied);
  }

  button.addEventListener('click', () => {
    if (enabled()) {
      choice = 'off';
      remember(choice);
      return show();
    }
    // Asked only here, on the reader's press.
    void Promise.resolve(Notification.permission === 'granted' ? 'granted' : Notification.requestPermission()).then(
      (permission) => {
        choice = permission === 'granted' ? 'on' : 'off';
        remember(choice);
        show();
      },
    );
  });
  // Another tab of the same user changed the choice.
  window.addEventListener('storage', (e) => {
    if (e.key !== key) return;
    choice = stored();
    show();
  });
  show();

  return {
    message(m) {
      if (!enabled() || m.type !== 'user' || m.uid === store.state.me.uid) return;
      if (document.visibilityState === 'visible' && inView(m.room_id)) return;
      const key = `${m.room_id} ${m.id}`;
      if (notified.has(key)) return;
      if (notified.size > 200) notified.clear();
      notified.add(key);
      const room = store.state.rooms[m.room_id];
      const n = new Notification(room ? roomLabel(room.name, room.id) : 'Chat', {
        body: `${m.name}: ${m.msg}`,
        // One notification per room: a newer message replaces the one before.
        tag: `chat:${m.room_id}`,
        icon: '/img/avatar.svg',
      });
      n.addEventListener('click', () => {
        window.focus();
        open(m.room_id);
        n.close();
      });
    },
  };
}
