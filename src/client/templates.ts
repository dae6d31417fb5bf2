/**
 * The page's macros (views/macros/chat.njk), precompiled at build time, rendered in the browser.
 * Every element the client adds comes from here, so the markup exists once and all user text is
 * autoescaped exactly as on the server.
 */
import { LIMITS } from '../shared/limits.js';
import { FILTERS } from '../shared/room-label.js';
import type { Message, RoomWithMessages, UserProfile } from '../shared/types.js';
import type {} from './nunjucks-slim.js';
import type { Presence } from './state/presence.js';
import type { Me, Notice, Pending, Person } from './state/types.js';
import type { Part } from './text.js';

/** How the browser shows a message beyond its data: continuing its sender's group, its text's parts. */
export interface MessageView {
  cont?: boolean;
  parts?: Part[];
}

export type { Me } from './state/types.js';

export interface DirectoryEntry {
  name: string;
  course: string;
  picture: string;
  /** get_users' presence (CONTRACT); absent where not known. */
  online?: boolean;
}

type Macro = (...args: unknown[]) => { toString(): string };

const MACRO_FILE = 'macros/chat.njk';
let macros: Record<string, Macro> | null = null;

function load(): Record<string, Macro> {
  if (macros) return macros;
  const nunjucks = window.nunjucks;
  if (!nunjucks) throw new Error('the Nunjucks runtime (/build/nunjucks-slim.min.js) is not loaded');
  const env = new nunjucks.Environment(new nunjucks.PrecompiledLoader(window.nunjucksPrecompiled ?? {}), {
    autoescape: true,
  });
  // As on the server (src/http/set-up-views.ts): the macros read it.
  env.addGlobal('pageSize', LIMITS.pageMessages);
  for (const [name, fn] of Object.entries(FILTERS)) env.addFilter(name, fn);
  let result: Record<string, Macro> | null = null;
  // Precompiled templates without async filters run synchronously.
  env.getTemplate(MACRO_FILE, true).getExported((err, exported) => {
    if (err) throw err;
    result = exported as Record<string, Macro>;
  });
  if (!result) throw new Error(`${MACRO_FILE} did not load`);
  macros = result;
  return result;
}

function call(name: string, ...args: unknown[]): string {
  const macro = load()[name];
  if (typeof macro !== 'function') throw new Error(`no macro ${name} in ${MACRO_FILE}`);
  return String(macro(...args));
}

/** Parses one autoescaped macro result into its element (a <template> keeps it inert). */
function toElement(html: string): HTMLElement {
  const t = document.createElement('template');
  t.innerHTML = html.trim();
  const el = t.content.firstElementChild;
  if (!(el instanceof HTMLElement)) throw new Error('macro produced no element');
  return el;
}

export const render = {
  message: (m: Message, me: Me, v: MessageView = {}): HTMLElement => toElement(call('message', m, me, v)),
  /** An own message in the outbox; `note` says why a sending one waits (else "sending…"). */
  pending: (p: Pending, note = '', v: MessageView = {}): HTMLElement =>
    toElement(
      call('int_user', { id: '', msg: p.msg, time: p.time, client_id: p.client_id }, p.state, p.reason ?? note, v),
    ),
  day: (date: string, label: string): HTMLElement => toElement(call('day_sep', date, label)),
  convLast: (last: Pick<Message, 'type' | 'name' | 'msg'> | null): HTMLElement => toElement(call('conv_last', last)),
  convTime: (last: Pick<Message, 'time'> | null): HTMLElement => toElement(call('conv_time', last)),
  newDivider: (): HTMLElement => toElement(call('new_divider')),
  notice: (n: Notice): HTMLElement => toElement(call('server_msg', n, n.after)),
  conv: (room: RoomWithMessages, active: boolean): HTMLElement => toElement(call('conv', room, active)),
  mentionBadge: (): HTMLElement => toElement(call('mention_badge')),
  pane: (room: RoomWithMessages, me: Me | UserProfile, active: boolean): HTMLElement =>
    toElement(call('tab_cont', room, me, active)),
  userEntry: (uid: string, u: DirectoryEntry): HTMLElement => toElement(call('user_entry', uid, u)),
  memberEntry: (m: Person, me: Me, presence: Presence): HTMLElement => toElement(call('member_entry', m, me, presence)),
  presenceDot: (presence: Presence): HTMLElement => toElement(call('presence_dot', presence)),
  presenceText: (presence: Presence): HTMLElement => toElement(call('presence_text', presence)),
};
