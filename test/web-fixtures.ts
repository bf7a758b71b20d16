/**
 * Shared by the web tests: ChirpStack events for a registered device, publishing them over MQTT,
 * and waiting with a bounded deadline.
 */
import mqtt from 'mqtt';
import { nativeCodec } from '../codecs/registry.ts';
import { eventToJson, eventTopic, type IntegrationEvent, type UplinkEvent } from '../lorawan/chirpstack/events.ts';

export function deviceInfo(devEui: string, name: string): UplinkEvent['deviceInfo'] {
  return { tenantId: 't', tenantName: 'city', applicationId: 'a', applicationName: 'waste', deviceProfileId: 'p', deviceProfileName: 'profile', deviceName: name, devEui, deviceClassEnabled: 'CLASS_A', tags: {} };
}

export function uplinkEvent(devEui: string, name: string, fCnt: number, bytes: Uint8Array, fPort: number, time: number): UplinkEvent {
  return {
    kind: 'up',
    deduplicationId: `dedup-${devEui}-${fCnt}-${time}`,
    time,
    deviceInfo: deviceInfo(devEui, name),
    devAddr: '26000001',
    adr: true,
    dr: 5,
    fCnt,
    fPort,
    confirmed: false,
    data: bytes,
    rxInfo: [
      { gatewayId: '0016c001f1530001', uplinkId: 1, rssi: -80, snr: 7.5, channel: 1, rfChain: 0 },
      { gatewayId: '0016c001f1530002', uplinkId: 2, rssi: -101, snr: -3.25, channel: 1, rfChain: 0 },
    ],
    txInfo: { frequency: 868_100_000, bandwidth: 125_000, spreadingFactor: 7, codeRate: 'CR_4_5' },
    regionConfigId: 'eu868',
  };
}

/** A Dingtek DF703 bin uplink (distance, alarm_full). */
export function df703Uplink(devEui: string, name: string, fCnt: number, distance: number, full: boolean, time: number): UplinkEvent {
  const enc = nativeCodec('dingtek/df703')?.encodeUplink({ readings: [{ values: { distance_mm: distance, temperature_c: 12, alarm_full: full, alarm_fire: false, alarm_tilt: false } }] });
  if (!enc?.bytes || enc.fPort === undefined) throw new Error('df703 encode failed');
  return uplinkEvent(devEui, name, fCnt, Uint8Array.from(enc.bytes), enc.fPort, time);
}

export async function publish(brokerUrl: string, events: IntegrationEvent[]): Promise<void> {
  const pub = await mqtt.connectAsync(brokerUrl, { clientId: `web-test-pub-${process.pid}-${Math.random().toString(36).slice(2)}` });
  for (const ev of events) await pub.publishAsync(eventTopic(ev), Buffer.from(eventToJson(ev)), { qos: 1 });
  await pub.endAsync();
}

export async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
