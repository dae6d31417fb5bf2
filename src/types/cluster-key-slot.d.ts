/** ioredis's own CRC16 slot function (no types of its own): the slot of a key or channel. */
declare module 'cluster-key-slot' {
  function calculateSlot(key: string | Buffer): number;
  export default calculateSlot;
}
