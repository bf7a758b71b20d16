/** PUSH_DATA-shaped datagrams whose bytes follow from a counter (the inbox tests check them back). */

/** Datagram `c`: version 2, token c & 0xffff, PUSH_DATA, EUI, then a body whose length and bytes depend on c. */
export function inboxDatagram(c: number): Buffer {
  const body = Buffer.alloc(12 + (c % 97) * 3);
  body.writeUInt32BE(c >>> 0, 0);
  for (let i = 4; i < body.length; i++) body[i] = (c * 31 + i * 7) & 0xff;
  return Buffer.concat([Buffer.from([2, (c >>> 8) & 0xff, c & 0xff, 0]), Buffer.from('0016c001f1500001', 'hex'), body]);
}

/** The counter a datagram was made from (its body's first 4 bytes). */
export function counterOf(d: Buffer): number {
  return d.readUInt32BE(12);
}
