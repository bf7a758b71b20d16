/**
 * Registering devices on a ChirpStack v4 server through its gRPC API
 * (@chirpstack/chirpstack-api's generated clients on @grpc/grpc-js), idempotently: a device
 * profile and an application are found by name or created, each device is read first and only
 * written where it differs, so running the same batch twice makes no writes the second time.
 *
 * ChirpStack facts this relies on (shared/reference/nodered-and-provisioning.md §8):
 * - every call carries `authorization: Bearer <API token>` metadata and a deadline;
 * - `DeviceKeys.nwkKey` holds the AppKey of a LoRaWAN 1.0.x device (`appKey` is for 1.1 only);
 * - a missing device is NOT_FOUND (5), an existing one on create ALREADY_EXISTS (6), a bad token
 *   UNAUTHENTICATED (16).
 */
import { createRequire } from 'node:module';
import type * as GrpcJs from '@grpc/grpc-js';
import type * as DevicePb from '@chirpstack/chirpstack-api/api/device_pb.js';
import type * as DeviceGrpc from '@chirpstack/chirpstack-api/api/device_grpc_pb.js';
import type * as ProfilePb from '@chirpstack/chirpstack-api/api/device_profile_pb.js';
import type * as ProfileGrpc from '@chirpstack/chirpstack-api/api/device_profile_grpc_pb.js';
import type * as ApplicationPb from '@chirpstack/chirpstack-api/api/application_pb.js';
import type * as ApplicationGrpc from '@chirpstack/chirpstack-api/api/application_grpc_pb.js';
import type * as CommonPb from '@chirpstack/chirpstack-api/common/common_pb.js';
import type * as InternalPb from '@chirpstack/chirpstack-api/api/internal_pb.js';
import type * as InternalGrpc from '@chirpstack/chirpstack-api/api/internal_grpc_pb.js';

// The generated modules are CommonJS; load them as such.
const require = createRequire(import.meta.url);
export const grpc = require('@grpc/grpc-js') as typeof GrpcJs;
export const devicePb = require('@chirpstack/chirpstack-api/api/device_pb.js') as typeof DevicePb;
export const deviceGrpc = require('@chirpstack/chirpstack-api/api/device_grpc_pb.js') as typeof DeviceGrpc;
export const profilePb = require('@chirpstack/chirpstack-api/api/device_profile_pb.js') as typeof ProfilePb;
export const profileGrpc = require('@chirpstack/chirpstack-api/api/device_profile_grpc_pb.js') as typeof ProfileGrpc;
export const applicationPb = require('@chirpstack/chirpstack-api/api/application_pb.js') as typeof ApplicationPb;
export const applicationGrpc = require('@chirpstack/chirpstack-api/api/application_grpc_pb.js') as typeof ApplicationGrpc;
export const commonPb = require('@chirpstack/chirpstack-api/common/common_pb.js') as typeof CommonPb;
export const internalPb = require('@chirpstack/chirpstack-api/api/internal_pb.js') as typeof InternalPb;
export const internalGrpc = require('@chirpstack/chirpstack-api/api/internal_grpc_pb.js') as typeof InternalGrpc;

/** What a technician wants to know from a device's first events after provisioning. */
export interface WatchResult {
  devEui: string;
  joined: boolean;
  uplink?: { fCnt: number; gateways: number; bestRssi?: number; bestSnr?: number };
}

/** Milesight ships every device with this published AppKey ("Ur@LinkLoRa2018#"): anyone can derive its session keys. */
export const MILESIGHT_DEFAULT_APP_KEY = '5572404c696e6b4c6f52613230313823';

type Region = CommonPb.RegionMap[keyof CommonPb.RegionMap];
type MacVersion = CommonPb.MacVersionMap[keyof CommonPb.MacVersionMap];
const R = commonPb.Region;
export const REGIONS: Record<string, Region> = { EU868: R.EU868, US915: R.US915, CN779: R.CN779, EU433: R.EU433, AU915: R.AU915, CN470: R.CN470, AS923: R.AS923, KR920: R.KR920, IN865: R.IN865, RU864: R.RU864, 'AS923-2': R.AS923_2, 'AS923-3': R.AS923_3, 'AS923-4': R.AS923_4 };
const M = commonPb.MacVersion;
export const MAC_VERSIONS: Record<string, MacVersion> = { '1.0.0': M.LORAWAN_1_0_0, '1.0.1': M.LORAWAN_1_0_1, '1.0.2': M.LORAWAN_1_0_2, '1.0.3': M.LORAWAN_1_0_3, '1.0.4': M.LORAWAN_1_0_4, '1.1.0': M.LORAWAN_1_1_0 };

/** What a provisioning run sets on a profile, as comparable plain data. */
function profileFacts(p: ProfilePb.DeviceProfile): string {
  return JSON.stringify([p.getName(), p.getRegion(), p.getMacVersion(), p.getRegParamsRevision(), p.getSupportsOtaa(), p.getUplinkInterval(), p.getPayloadCodecRuntime(), p.getPayloadCodecScript()]);
}

const sortedMap = (m: { toObject(): [string, string][] }): [string, string][] => m.toObject().sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** What a provisioning run sets on a device, as comparable plain data (maps sorted: servers return them in any order). */
function deviceFacts(d: DevicePb.Device): string {
  return JSON.stringify([d.getName(), d.getDescription(), d.getApplicationId(), d.getDeviceProfileId(), d.getJoinEui().toLowerCase(), sortedMap(d.getTagsMap()), sortedMap(d.getVariablesMap())]);
}

export interface ProfileSpec {
  name: string;
  region: string;
  macVersion: string;
  uplintIntervalS?: number;
  /** A JavaScript codec script ChirpStack runs (catalogue entries with a script codec). */
  codecScript?: string;
}

export interface DeviceSpec {
  devEui: string;
  name: string;
  joinEui: string;
  /** 1.0.x AppKey, stored in ChirpStack's `nwkKey`. */
  appKey: string;
  description?: string;
  tags: Record<string, string>;
  variables: Record<string, string>;
}

export type Outcome = 'created' | 'updated' | 'unchanged' | 'failed';

export interface DeviceOutcome {
  devEui: string;
  name: string;
  outcome: Outcome;
  /** For failures: the server's reason (code name and details). */
  reason?: string;
}

export class ChirpStackError extends Error {
  override readonly name = 'ChirpStackError';
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const CODE_NAMES: Record<number, string> = { 3: 'INVALID_ARGUMENT', 4: 'DEADLINE_EXCEEDED', 5: 'NOT_FOUND', 6: 'ALREADY_EXISTS', 7: 'PERMISSION_DENIED', 13: 'INTERNAL', 14: 'UNAVAILABLE', 16: 'UNAUTHENTICATED' };

/** `5 NOT_FOUND: Object does not exist` → `NOT_FOUND: Object does not exist`. */
export function describeGrpcError(err: unknown): { code: number; text: string } {
  const e = err as { code?: number; details?: string; message?: string };
  const code = typeof e.code === 'number' ? e.code : 2;
  return { code, text: `${CODE_NAMES[code] ?? `code ${code}`}: ${e.details || e.message || 'no details'}` };
}

type Unary<Req, Res> = (req: Req, md: GrpcJs.Metadata, opts: Partial<GrpcJs.CallOptions>, cb: (err: GrpcJs.ServiceError | null, res: Res) => void) => unknown;

export interface ChirpStackTarget {
  server: string; // host:port
  token: string;
  tenantId: string;
  /** Per-call deadline, ms (default 10 s). */
  timeoutMs?: number;
  tls?: boolean;
}

/** Counts writes and reads so a run can say what it did (and tests can assert idempotence). */
export interface CallLog {
  reads: number;
  writes: number;
}

export class ChirpStackClient {
  private readonly devices: InstanceType<typeof deviceGrpc.DeviceServiceClient>;
  private readonly profiles: InstanceType<typeof profileGrpc.DeviceProfileServiceClient>;
  private readonly applications: InstanceType<typeof applicationGrpc.ApplicationServiceClient>;
  private internal: InstanceType<typeof internalGrpc.InternalServiceClient> | undefined;
  readonly calls: CallLog = { reads: 0, writes: 0 };

  constructor(private readonly target: ChirpStackTarget) {
    const creds = target.tls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure();
    this.devices = new deviceGrpc.DeviceServiceClient(target.server, creds);
    this.profiles = new profileGrpc.DeviceProfileServiceClient(target.server, creds);
    this.applications = new applicationGrpc.ApplicationServiceClient(target.server, creds);
  }

  /**
   * Follows one device's event stream (InternalService.StreamDeviceEvents) until it has joined
   * and sent a first uplink, or until `deadline` (epoch ms). `onEvent` sees each join/up as it
   * arrives. A device that was joined before the watch started shows only its uplink: the uplink
   * counts as proof of a join.
   */
  watchDevice(devEui: string, deadline: number, onEvent: (r: WatchResult, kind: 'join' | 'up') => void): Promise<WatchResult> {
    const client = (this.internal ??= new internalGrpc.InternalServiceClient(this.target.server, this.target.tls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure()));
    const req = new internalPb.StreamDeviceEventsRequest();
    req.setDevEui(devEui);
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${this.target.token}`);
    const result: WatchResult = { devEui, joined: false };
    return new Promise((resolve, reject) => {
      const stream = client.streamDeviceEvents(req, md, { deadline });
      let settled = false;
      const finish = (err?: Error): void => {
        if (settled) return;
        settled = true;
        stream.cancel();
        if (err) reject(err);
        else resolve(result);
      };
      stream.on('data', (item: InternalPb.LogItem) => {
        const kind = item.getDescription();
        if (kind === 'join') {
          result.joined = true;
          onEvent(result, 'join');
        } else if (kind === 'up' && !result.uplink) {
          let body: { fCnt?: number; rxInfo?: { rssi?: number; snr?: number }[] } = {};
          try {
            body = JSON.parse(item.getBody()) as typeof body;
          } catch {
            // A body that is not JSON still proves the uplink.
          }
          const rx = Array.isArray(body.rxInfo) ? body.rxInfo : [];
          const best = rx.reduce<{ rssi?: number; snr?: number } | undefined>((b, r) => (b === undefined || (r.rssi ?? -999) > (b.rssi ?? -999) ? r : b), undefined);
          result.joined = true;
          result.uplink = { fCnt: typeof body.fCnt === 'number' ? body.fCnt : 0, gateways: rx.length, bestRssi: best?.rssi, bestSnr: best?.snr };
          onEvent(result, 'up');
        }
        if (result.joined && result.uplink) finish();
      });
      stream.on('error', (err: GrpcJs.ServiceError) => {
        if (err.code === grpc.status.DEADLINE_EXCEEDED || err.code === grpc.status.CANCELLED) finish();
        else finish(new ChirpStackError(err.code, describeGrpcError(err).text));
      });
      stream.on('end', () => finish());
    });
  }

  close(): void {
    this.internal?.close();
    this.devices.close();
    this.profiles.close();
    this.applications.close();
  }

  private call<Req, Res>(kind: 'read' | 'write', client: object, fn: Unary<Req, Res>, req: Req): Promise<Res> {
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${this.target.token}`);
    this.calls[kind === 'read' ? 'reads' : 'writes']++;
    return new Promise((resolve, reject) => {
      fn.call(client, req, md, { deadline: Date.now() + (this.target.timeoutMs ?? 10_000) }, (err, res) => {
        if (err) {
          const d = describeGrpcError(err);
          reject(new ChirpStackError(d.code, d.text));
        } else resolve(res);
      });
    });
  }

  /** Finds the device profile by exact name in the tenant, creating or updating it to match. */
  async ensureProfile(spec: ProfileSpec): Promise<{ id: string; outcome: Outcome }> {
    const region = REGIONS[spec.region.toUpperCase()];
    const mac = MAC_VERSIONS[spec.macVersion];
    if (region === undefined) throw new ChirpStackError(3, `region ${spec.region} is not one ChirpStack knows`);
    if (mac === undefined) throw new ChirpStackError(3, `MAC version ${spec.macVersion} is not one ChirpStack knows`);
    const list = new profilePb.ListDeviceProfilesRequest();
    list.setTenantId(this.target.tenantId);
    list.setSearch(spec.name);
    list.setLimit(100);
    const found = (await this.call('read', this.profiles, this.profiles.list as Unary<typeof list, ProfilePb.ListDeviceProfilesResponse>, list)).getResultList().find((p) => p.getName() === spec.name);
    const wanted = (p: ProfilePb.DeviceProfile): ProfilePb.DeviceProfile => {
      p.setTenantId(this.target.tenantId);
      p.setName(spec.name);
      p.setRegion(region);
      p.setMacVersion(mac);
      p.setRegParamsRevision(commonPb.RegParamsRevision.RP002_1_0_3);
      p.setSupportsOtaa(true);
      p.setAdrAlgorithmId(p.getAdrAlgorithmId() || 'default');
      if (spec.uplintIntervalS) p.setUplinkInterval(spec.uplintIntervalS);
      if (spec.codecScript !== undefined) {
        p.setPayloadCodecRuntime(profilePb.CodecRuntime.JS);
        p.setPayloadCodecScript(spec.codecScript);
      }
      return p;
    };
    if (!found) {
      const req = new profilePb.CreateDeviceProfileRequest();
      req.setDeviceProfile(wanted(new profilePb.DeviceProfile()));
      const res = await this.call('write', this.profiles, this.profiles.create as Unary<typeof req, ProfilePb.CreateDeviceProfileResponse>, req);
      return { id: res.getId(), outcome: 'created' };
    }
    const get = new profilePb.GetDeviceProfileRequest();
    get.setId(found.getId());
    const current = (await this.call('read', this.profiles, this.profiles.get as Unary<typeof get, ProfilePb.GetDeviceProfileResponse>, get)).getDeviceProfile();
    if (!current) throw new ChirpStackError(5, `device profile ${found.getId()} vanished`);
    const before = profileFacts(current);
    const next = wanted(profilePb.DeviceProfile.deserializeBinary(current.serializeBinary()));
    if (profileFacts(next) === before) return { id: found.getId(), outcome: 'unchanged' };
    const upd = new profilePb.UpdateDeviceProfileRequest();
    upd.setDeviceProfile(next);
    await this.call('write', this.profiles, this.profiles.update as Unary<typeof upd, unknown>, upd);
    return { id: found.getId(), outcome: 'updated' };
  }

  /** Finds the application by exact name in the tenant, creating it if missing. */
  async ensureApplication(name: string): Promise<{ id: string; outcome: Outcome }> {
    const list = new applicationPb.ListApplicationsRequest();
    list.setTenantId(this.target.tenantId);
    list.setSearch(name);
    list.setLimit(100);
    const found = (await this.call('read', this.applications, this.applications.list as Unary<typeof list, ApplicationPb.ListApplicationsResponse>, list)).getResultList().find((a) => a.getName() === name);
    if (found) return { id: found.getId(), outcome: 'unchanged' };
    const app = new applicationPb.Application();
    app.setName(name);
    app.setTenantId(this.target.tenantId);
    app.setDescription('created by lorawan-edge provision');
    const req = new applicationPb.CreateApplicationRequest();
    req.setApplication(app);
    const res = await this.call('write', this.applications, this.applications.create as Unary<typeof req, ApplicationPb.CreateApplicationResponse>, req);
    return { id: res.getId(), outcome: 'created' };
  }

  /** Creates or updates one device and its keys; compares first, so an equal device is not written. */
  async upsertDevice(spec: DeviceSpec, applicationId: string, profileId: string, dryRun = false): Promise<DeviceOutcome> {
    const base = { devEui: spec.devEui, name: spec.name };
    const wanted = (d: DevicePb.Device): DevicePb.Device => {
      d.setDevEui(spec.devEui);
      d.setName(spec.name);
      d.setApplicationId(applicationId);
      d.setDeviceProfileId(profileId);
      d.setJoinEui(spec.joinEui);
      d.setDescription(spec.description ?? d.getDescription());
      const tags = d.getTagsMap();
      tags.clear();
      for (const [k, v] of Object.entries(spec.tags).sort()) tags.set(k, v);
      const vars = d.getVariablesMap();
      vars.clear();
      for (const [k, v] of Object.entries(spec.variables).sort()) vars.set(k, v);
      return d;
    };
    const keysOf = (): DevicePb.DeviceKeys => {
      const k = new devicePb.DeviceKeys();
      k.setDevEui(spec.devEui);
      k.setNwkKey(spec.appKey); // LoRaWAN 1.0.x: the AppKey lives in nwkKey
      return k;
    };
    try {
      const get = new devicePb.GetDeviceRequest();
      get.setDevEui(spec.devEui);
      let current: DevicePb.Device | undefined;
      try {
        current = (await this.call('read', this.devices, this.devices.get as Unary<typeof get, DevicePb.GetDeviceResponse>, get)).getDevice();
      } catch (err) {
        if (!(err instanceof ChirpStackError && err.code === 5)) throw err;
      }
      if (!current) {
        if (dryRun) return { ...base, outcome: 'created' };
        const req = new devicePb.CreateDeviceRequest();
        req.setDevice(wanted(new devicePb.Device()));
        try {
          await this.call('write', this.devices, this.devices.create as Unary<typeof req, unknown>, req);
        } catch (err) {
          // Created by someone else since the read: update it instead.
          if (err instanceof ChirpStackError && err.code === 6) return this.upsertDevice(spec, applicationId, profileId, dryRun);
          throw err;
        }
        const keys = new devicePb.CreateDeviceKeysRequest();
        keys.setDeviceKeys(keysOf());
        await this.call('write', this.devices, this.devices.createKeys as Unary<typeof keys, unknown>, keys);
        return { ...base, outcome: 'created' };
      }
      const before = deviceFacts(current);
      const next = wanted(devicePb.Device.deserializeBinary(current.serializeBinary()));
      const deviceChanged = deviceFacts(next) !== before;
      const getKeys = new devicePb.GetDeviceKeysRequest();
      getKeys.setDevEui(spec.devEui);
      let keysNow: DevicePb.DeviceKeys | undefined;
      try {
        keysNow = (await this.call('read', this.devices, this.devices.getKeys as Unary<typeof getKeys, DevicePb.GetDeviceKeysResponse>, getKeys)).getDeviceKeys();
      } catch (err) {
        if (!(err instanceof ChirpStackError && err.code === 5)) throw err;
      }
      const keysChanged = !keysNow || keysNow.getNwkKey().toLowerCase() !== spec.appKey.toLowerCase();
      if (!deviceChanged && !keysChanged) return { ...base, outcome: 'unchanged' };
      if (dryRun) return { ...base, outcome: 'updated' };
      if (deviceChanged) {
        const upd = new devicePb.UpdateDeviceRequest();
        upd.setDevice(next);
        await this.call('write', this.devices, this.devices.update as Unary<typeof upd, unknown>, upd);
      }
      if (keysChanged) {
        if (keysNow) {
          const upd = new devicePb.UpdateDeviceKeysRequest();
          upd.setDeviceKeys(keysOf());
          await this.call('write', this.devices, this.devices.updateKeys as Unary<typeof upd, unknown>, upd);
        } else {
          const req = new devicePb.CreateDeviceKeysRequest();
          req.setDeviceKeys(keysOf());
          await this.call('write', this.devices, this.devices.createKeys as Unary<typeof req, unknown>, req);
        }
      }
      return { ...base, outcome: 'updated' };
    } catch (err) {
      if (err instanceof ChirpStackError) {
        // A bad token or an unreachable server fails every device the same way: stop the run.
        if (err.code === 16 || err.code === 14 || err.code === 7) throw err;
        return { ...base, outcome: 'failed', reason: err.message };
      }
      throw err;
    }
  }
}
