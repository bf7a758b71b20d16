/**
 * A small Semtech UDP network-server stand-in for tests (not a network server): a UDP socket on
 * 127.0.0.1 that answers PUSH_ACK and PULL_ACK, keeps every received rxpk with the gateway that
 * sent it, and — when given the fleet's keys — answers OTAA join-requests with join-accepts
 * through PULL_RESP (RX1: tmst + 5 s) and records the TX_ACKs.
 *
 * It verifies nothing about data frames itself; tests open them with the keys file or with the
 * sessions it created (`sessions`), so a failure points at the simulator, not at this helper.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { hex32 } from '../../lorawan/bytes.ts';
import { buildJoinAccept, verifyJoinRequestMic } from '../../lorawan/join.ts';
import { parsePhyPayload } from '../../lorawan/phy-payload.ts';
import { deriveSessionKeys } from '../../lorawan/session-keys.ts';
import { decodeUdpPacket, encodeUdpPacket } from '../../lorawan/udp/codec.ts';
import type { Rxpk, Stat, TxpkAck } from '../../lorawan/udp/types.ts';
import type { KeysFile } from '../keys-file.ts';

export interface ReceivedRxpk {
  gatewayEui: string;
  rxpk: Rxpk;
  /** Arrival order over all gateways. */
  index: number;
}

export interface TestSession {
  devEui: string;
  devAddr: string;
  nwkSKey: Buffer;
  appSKey: Buffer;
  devNonce: number;
}

export interface TestNetworkServerOptions {
  /** Answer OTAA join-requests of these devices. */
  keys?: KeysFile;
  /** Do not acknowledge PUSH_DATA (to test the simulator's missing-ack accounting). */
  ackPushData?: boolean;
  /** NetID of the join-accepts (default 0x000013). */
  netId?: number;
}

export interface TestNetworkServer {
  readonly port: number;
  readonly rxpk: ReceivedRxpk[];
  readonly stats: ReadonlyArray<{ gatewayEui: string; stat: Stat }>;
  readonly pullData: Map<string, number>;
  readonly txAcks: { gatewayEui: string; token: number; txpkAck: TxpkAck | null }[];
  /** OTAA sessions created by join-accepts, by DevEUI (the latest one). */
  readonly sessions: Map<string, TestSession>;
  readonly joinRequests: number;
  close(): Promise<void>;
}

export async function startTestNetworkServer(options: TestNetworkServerOptions = {}): Promise<TestNetworkServer> {
  const socket: Socket = createSocket('udp4');
  const rxpk: ReceivedRxpk[] = [];
  const stats: { gatewayEui: string; stat: Stat }[] = [];
  const pullData = new Map<string, number>();
  const pullRoute = new Map<string, RemoteInfo>();
  const txAcks: { gatewayEui: string; token: number; txpkAck: TxpkAck | null }[] = [];
  const sessions = new Map<string, TestSession>();
  const answered = new Set<string>();
  const otaa = new Map((options.keys?.devices ?? []).flatMap((d) => (d.activation === 'OTAA' ? [[d.devEui, d] as const] : [])));
  const netId = options.netId ?? 0x000013;
  let joinRequests = 0;
  let nextAddr = 0x00a00000;
  let joinNonce = 0x100;
  let token = 0x4000;

  const send = (buf: Buffer, to: RemoteInfo): void => {
    socket.send(buf, to.port, to.address);
  };

  const answerJoin = (gatewayEui: string, r: Rxpk): void => {
    const parsed = parsePhyPayload(r.data);
    if (!parsed.ok || parsed.frame.kind !== 'join-request') return;
    const req = parsed.frame;
    joinRequests++;
    const dev = otaa.get(req.devEui);
    const key = `${req.devEui}/${req.devNonce}`;
    if (!dev || answered.has(key)) return; // unknown device, or the same request via another gateway
    const appKey = Buffer.from(dev.appKey, 'hex');
    if (!verifyJoinRequestMic(req, appKey)) return;
    const route = pullRoute.get(gatewayEui);
    if (!route) return;
    answered.add(key);
    const devAddr = (0x26000000 | nextAddr++) >>> 0;
    const nonce = joinNonce++;
    const accept = buildJoinAccept({ joinNonce: nonce, netId, devAddr, rx1DrOffset: 0, rx2DataRate: 0, rxDelay: 1 }, appKey);
    const keys = deriveSessionKeys(appKey, { joinNonce: nonce, netId, devNonce: req.devNonce });
    sessions.set(req.devEui, { devEui: req.devEui, devAddr: hex32(devAddr), nwkSKey: keys.nwkSKey, appSKey: keys.appSKey, devNonce: req.devNonce });
    token = (token + 1) & 0xffff;
    const txpk = {
      imme: false,
      tmst: (r.tmst + 5_000_000) % 4294967296,
      freq: r.freq,
      rfch: 0,
      powe: 14,
      modu: 'LORA' as const,
      datr: r.datr,
      codr: '4/5',
      ipol: true,
      size: accept.length,
      data: accept,
    };
    send(encodeUdpPacket({ type: 'PULL_RESP', version: 2, token, txpk }), route);
  };

  socket.on('message', (msg, from) => {
    const decoded = decodeUdpPacket(msg);
    if (!decoded.ok) return;
    const p = decoded.packet;
    switch (p.type) {
      case 'PUSH_DATA':
        if (options.ackPushData ?? true) send(encodeUdpPacket({ type: 'PUSH_ACK', version: 2, token: p.token }), from);
        if (p.stat) stats.push({ gatewayEui: p.gatewayEui, stat: p.stat });
        for (const r of p.rxpk) {
          rxpk.push({ gatewayEui: p.gatewayEui, rxpk: r, index: rxpk.length });
          if (((r.data[0] ?? 0) >>> 5) === 0) answerJoin(p.gatewayEui, r);
        }
        return;
      case 'PULL_DATA':
        pullData.set(p.gatewayEui, (pullData.get(p.gatewayEui) ?? 0) + 1);
        pullRoute.set(p.gatewayEui, from);
        send(encodeUdpPacket({ type: 'PULL_ACK', version: 2, token: p.token }), from);
        return;
      case 'TX_ACK':
        txAcks.push({ gatewayEui: p.gatewayEui, token: p.token, txpkAck: p.txpkAck });
        return;
      default:
        return;
    }
  });

  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  // Bursts at --speed max: a larger receive buffer keeps the kernel from dropping datagrams.
  try {
    socket.setRecvBufferSize(4 * 1024 * 1024);
  } catch {
    // not permitted: the simulator's in-flight window keeps bursts small anyway
  }

  return {
    port: socket.address().port,
    rxpk,
    stats,
    pullData,
    txAcks,
    sessions,
    get joinRequests() {
      return joinRequests;
    },
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
