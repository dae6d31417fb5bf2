/** `status`: someone joined or left a room; shown as a notice after the newest message. */
import type { StatusEvent } from '../../shared/types.js';
import { addNotice } from '../state/rooms.js';
import type { EventContext } from './context.js';

export function onStatus({ store }: EventContext, s: StatusEvent): void {
  // Own joins happen on every page load and reconnect: not news to anyone reading here.
  if (s.uid === store.state.me.uid && s.type === 'join') return;
  store.update((state) => addNotice(state, s.room_id, { msg: s.msg, time: s.time }));
}
