/** `status`: someone joined or left a room; shown as a notice after the newest message, and in the members panel. */
import type { StatusEvent } from '../../shared/types.js';
import { joinRoster, leaveRoster } from '../state/presence.js';
import { addMember, addNotice } from '../state/rooms.js';
import type { EventContext } from './context.js';

export function onStatus({ store, announce }: EventContext, s: StatusEvent): void {
  // Own joins happen on every page load and reconnect: not news to anyone reading here.
  if (s.uid === store.state.me.uid && s.type === 'join') return;
  store.update((state) => {
    const next = addNotice(state, s.room_id, { msg: s.msg, time: s.time });
    return s.type === 'join'
      ? joinRoster(addMember(next, s.room_id, s.name), s.room_id, { uid: s.uid, name: s.name, picture: s.picture })
      : leaveRoster(next, s.room_id, s.uid);
  });
  if (store.state.active === s.room_id && store.state.looking) announce(s.msg);
}
