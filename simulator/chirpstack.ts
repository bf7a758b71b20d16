/**
 * ChirpStack v4 integration events for simulated uplinks and joins, as ChirpStack would publish
 * them for this fleet (the encodings themselves are lorawan/chirpstack/events.ts):
 *
 * - `deviceInfo`: tenant and application fixed per fleet (name-based UUIDs, so every run of a
 *   fleet lands in the same application), `deviceProfileId`/`deviceProfileName` from the
 *   catalogue id, the device's name, DevEUI and fleet tags, class A;
 * - `rxInfo`: one entry per gateway that heard the frame, with `context` = 4-byte big-endian
 *   `tmst` as for Semtech UDP gateways, `gwTime` = the simulated receive time (the gateways have
 *   GPS), `nsTime` a few ms later, `crcStatus` CRC_OK, the gateway's position;
 * - `txInfo`: frequency and LoRa 125 kHz / SF / CR_4_5; `dr` from the SF (EU868), `adr` true,
 *   `regionConfigId` `eu868`. No `object`: decoding is the receiver's job.
 *
 * `uplinkJson` renders the `up` event straight to the JSON text `eventToJson` gives for the
 * same event (a unit test holds them equal byte for byte on random uplinks): the device's
 * `deviceInfo` is serialized once, the rest is a template. It is ~4× cheaper, which matters for
 * a simulator that publishes tens of thousands of events per second. `uplinkProtobuf` does the
 * same for the protobuf encoding (simulator/protobuf.ts), equal byte for byte to
 * `eventToProtobuf`.
 */
import { deviceInfoJson, type DeviceInfo, type JoinEvent, type RxInfo, type UplinkEvent } from '../lorawan/chirpstack/events.ts';
import type { FleetGateway } from './fleet.ts';
import type { GatewayReception, SimJoin, SimUplink } from './frames.ts';
import type { SimDevice } from './population.ts';
import { ProtoWriter, timestampBytes } from './protobuf.ts';
import { uuidFromName } from './uuid.ts';

export const REGION_CONFIG_ID = 'eu868';

export interface ChirpstackIdentity {
  tenantId: string;
  tenantName: string;
  applicationId: string;
  applicationName: string;
}

export function chirpstackIdentity(fleetName: string, overrides: Partial<ChirpstackIdentity> = {}): ChirpstackIdentity {
  return {
    tenantId: overrides.tenantId ?? uuidFromName(`tenant:${fleetName}`),
    tenantName: overrides.tenantName ?? 'ChirpStack',
    applicationId: overrides.applicationId ?? uuidFromName(`application:${fleetName}`),
    applicationName: overrides.applicationName ?? fleetName,
  };
}

const b64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

let cachedSecond = Number.NaN;
let cachedSecondText = '';

/** `rfc3339(ms)` for whole-ms times, with the date part cached per second (the hot path). */
function rfc3339Ms(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedSecondText = new Date(second * 1000).toISOString().slice(0, 19);
  }
  const frac = ms - second * 1000;
  return frac === 0 ? `${cachedSecondText}+00:00` : `${cachedSecondText}.${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}+00:00`;
}

export class ChirpstackEvents {
  private readonly infos = new Map<SimDevice, DeviceInfo>();
  private readonly infoJson = new Map<SimDevice, string>();
  private readonly locationJson: string[];
  private readonly infoPb = new Map<SimDevice, Buffer>();
  private readonly locationPb: Buffer[];
  private readonly pw = new ProtoWriter();
  private readonly pwSub = new ProtoWriter();

  constructor(
    readonly identity: ChirpstackIdentity,
    private readonly gateways: readonly FleetGateway[],
  ) {
    this.locationJson = gateways.map((g) => JSON.stringify({ latitude: g.lat, longitude: g.lon, altitude: g.alt ?? 0 }));
    this.locationPb = gateways.map((g) => this.pw.double(1, g.lat).double(2, g.lon).double(3, g.alt ?? 0).finish());
  }

  deviceInfo(d: SimDevice): DeviceInfo {
    let info = this.infos.get(d);
    if (!info) {
      info = {
        ...this.identity,
        deviceProfileId: uuidFromName(`device-profile:${d.catalogueId}`),
        deviceProfileName: d.catalogueId,
        deviceName: d.name,
        devEui: d.devEui,
        deviceClassEnabled: 'CLASS_A',
        tags: d.tags,
      };
      this.infos.set(d, info);
    }
    return info;
  }

  private rxInfo(r: GatewayReception, u: SimUplink): RxInfo {
    const g = this.gateways[r.gatewayIndex] as FleetGateway;
    const context = new Uint8Array(4);
    context[0] = r.tmst >>> 24;
    context[1] = (r.tmst >>> 16) & 0xff;
    context[2] = (r.tmst >>> 8) & 0xff;
    context[3] = r.tmst & 0xff;
    return {
      gatewayId: r.gatewayId,
      uplinkId: r.uplinkId,
      gwTime: u.timeMs,
      nsTime: r.nsTimeMs,
      rssi: r.rssi,
      snr: r.snr,
      channel: u.channel,
      rfChain: u.rfChain,
      location: { latitude: g.lat, longitude: g.lon, altitude: g.alt ?? 0 },
      context,
      crcStatus: 'CRC_OK',
    };
  }

  uplink(u: SimUplink): UplinkEvent {
    return {
      kind: 'up',
      deduplicationId: u.deduplicationId,
      time: u.timeMs,
      deviceInfo: this.deviceInfo(u.device),
      devAddr: u.devAddr,
      adr: true,
      dr: u.dr,
      fCnt: u.fCnt,
      fPort: u.fPort,
      confirmed: false,
      data: u.payload,
      rxInfo: u.receptions.map((r) => this.rxInfo(r, u)),
      txInfo: { frequency: u.frequencyHz, bandwidth: 125_000, spreadingFactor: u.spreadingFactor, codeRate: 'CR_4_5' },
      regionConfigId: REGION_CONFIG_ID,
    };
  }

  /** `eventToJson(this.uplink(u))`, faster. */
  uplinkJson(u: SimUplink): string {
    let info = this.infoJson.get(u.device);
    if (info === undefined) {
      const d = this.deviceInfo(u.device);
      info = JSON.stringify(deviceInfoJson(d));
      this.infoJson.set(u.device, info);
    }
    const gwTime = rfc3339Ms(u.timeMs);
    let rx = '';
    for (let i = 0; i < u.receptions.length; i++) {
      const r = u.receptions[i] as GatewayReception;
      const ctx = Buffer.allocUnsafe(4);
      ctx.writeUInt32BE(r.tmst >>> 0, 0);
      rx +=
        `${i ? ',' : ''}{"gatewayId":"${r.gatewayId}"` +
        (r.uplinkId ? `,"uplinkId":${r.uplinkId}` : '') +
        `,"gwTime":"${gwTime}","nsTime":"${rfc3339Ms(r.nsTimeMs)}"` +
        (r.rssi ? `,"rssi":${r.rssi}` : '') +
        (r.snr ? `,"snr":${r.snr}` : '') +
        (u.channel ? `,"channel":${u.channel}` : '') +
        (u.rfChain ? `,"rfChain":${u.rfChain}` : '') +
        `,"location":${this.locationJson[r.gatewayIndex] as string},"context":"${ctx.toString('base64')}","crcStatus":"CRC_OK"}`;
    }
    return (
      `{"deduplicationId":"${u.deduplicationId}","time":"${gwTime}","deviceInfo":${info},"devAddr":"${u.devAddr}","adr":true,` +
      `"dr":${u.dr},"fCnt":${u.fCnt},"fPort":${u.fPort},"confirmed":false,"data":"${b64(u.payload)}","rxInfo":[${rx}],` +
      `"txInfo":{"frequency":${u.frequencyHz},"modulation":{"lora":{"bandwidth":125000,"spreadingFactor":${u.spreadingFactor},"codeRate":"CR_4_5"}}},` +
      `"regionConfigId":"${REGION_CONFIG_ID}"}`
    );
  }

  /** `eventToProtobuf(this.uplink(u))`, faster. */
  uplinkProtobuf(u: SimUplink): Buffer {
    let info = this.infoPb.get(u.device);
    if (!info) {
      const d = this.deviceInfo(u.device);
      const w = this.pw
        .string(1, d.tenantId)
        .string(2, d.tenantName)
        .string(3, d.applicationId)
        .string(4, d.applicationName)
        .string(5, d.deviceProfileId)
        .string(6, d.deviceProfileName)
        .string(7, d.deviceName)
        .string(8, d.devEui)
        .int(10, 0); // CLASS_A
      // map<string, string> tags = 9: entries in key order, key and value always written
      for (const k of Object.keys(d.tags).sort()) w.message(9, this.pwSub.stringAlways(1, k).stringAlways(2, d.tags[k] as string).finish());
      info = w.finish();
      this.infoPb.set(u.device, info);
    }
    const sub = this.pwSub;
    const time = timestampBytes(sub, u.timeMs);
    const rx: Buffer[] = [];
    for (const r of u.receptions) {
      const ctx = Buffer.allocUnsafe(4);
      ctx.writeUInt32BE(r.tmst >>> 0, 0);
      const ns = timestampBytes(sub, r.nsTimeMs);
      rx.push(
        sub
          .string(1, r.gatewayId)
          .uint32(2, r.uplinkId)
          .message(3, time)
          .message(17, ns)
          .int(6, r.rssi)
          .float(7, r.snr)
          .uint32(8, u.channel)
          .uint32(9, u.rfChain)
          .message(12, this.locationPb[r.gatewayIndex] as Buffer)
          .bytes(13, ctx)
          .int(16, 2) // CRC_OK
          .finish(),
      );
    }
    const lora = sub.uint32(1, 125_000).uint32(2, u.spreadingFactor).int(5, 1 /* CR_4_5 */).finish();
    const modulation = sub.message(3, lora).finish();
    const txInfo = sub.uint32(1, u.frequencyHz).message(2, modulation).finish();
    const w = this.pw
      .string(1, u.deduplicationId)
      .message(2, time)
      .message(3, info)
      .string(4, u.devAddr)
      .bool(5, true)
      .uint32(6, u.dr)
      .uint32(7, u.fCnt)
      .uint32(8, u.fPort)
      .bytes(10, u.payload);
    for (const r of rx) w.message(12, r);
    return w.message(13, txInfo).string(16, REGION_CONFIG_ID).finish();
  }

  join(j: SimJoin): JoinEvent {
    return {
      kind: 'join',
      deduplicationId: j.deduplicationId,
      time: j.timeMs,
      deviceInfo: this.deviceInfo(j.device),
      devAddr: j.devAddr,
      regionConfigId: REGION_CONFIG_ID,
    };
  }
}
