export * from './types.ts';
export { decodeUdpPacket, encodeUdpPacket, rxpkToJson, txpkToJson } from './codec.ts';
export * from './radio.ts';
export * from './gateway.ts';
export * from './server.ts';
