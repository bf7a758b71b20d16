/**
 * A stand-in ChirpStack v4 API server for the provisioning tests: ChirpStack itself (Rust,
 * PostgreSQL, Redis) does not run here. It serves the services the provisioning CLI uses, from
 * @chirpstack/chirpstack-api's own service definitions on a real gRPC socket, with ChirpStack's
 * documented validation and status codes: UNAUTHENTICATED without a valid bearer token,
 * NOT_FOUND for a missing object, ALREADY_EXISTS on a second create, INVALID_ARGUMENT for a
 * malformed EUI or key. It records every call, so tests can assert that a rerun writes nothing
 * and that the AppKey of a 1.0.x device lands in `nwkKey`.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as GrpcJs from '@grpc/grpc-js';
import type * as DevicePb from '@chirpstack/chirpstack-api/api/device_pb.js';
import type * as ProfilePb from '@chirpstack/chirpstack-api/api/device_profile_pb.js';
import type * as ApplicationPb from '@chirpstack/chirpstack-api/api/application_pb.js';
import type * as InternalPb from '@chirpstack/chirpstack-api/api/internal_pb.js';
import { applicationGrpc, applicationPb, deviceGrpc, devicePb, grpc, internalGrpc, internalPb, profileGrpc, profilePb } from '../chirpstack.ts';

// google.protobuf.Empty, what the generated services return for writes.
const { Empty } = createRequire(import.meta.url)('google-protobuf/google/protobuf/empty_pb.js') as { Empty: new () => unknown };

export interface RecordedCall {
  method: string;
  write: boolean;
  /** The request as plain data (protobuf toObject). */
  request: Record<string, unknown>;
  code: number;
}

export interface FakeChirpStack {
  port: number;
  token: string;
  tenantId: string;
  calls: RecordedCall[];
  devices: Map<string, DevicePb.Device>;
  keys: Map<string, DevicePb.DeviceKeys>;
  profiles: Map<string, ProfilePb.DeviceProfile>;
  applications: Map<string, ApplicationPb.Application>;
  /** Sends a device event (`join`, `up`, …) to every open StreamDeviceEvents stream of that device. */
  emitEvent(devEui: string, description: string, body: object): void;
  /** Open event streams per DevEUI. */
  watchers(devEui: string): number;
  stop(): Promise<void>;
}

type Handler<Req, Res> = (req: Req) => Res;

class Status extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(details);
  }
}

const EUI = /^[0-9a-f]{16}$/;
const KEY = /^[0-9a-f]{32}$/;

export async function startFakeChirpStack(opts: { token?: string; tenantId?: string } = {}): Promise<FakeChirpStack> {
  const token = opts.token ?? 'test-api-token';
  const tenantId = opts.tenantId ?? randomUUID();
  const calls: RecordedCall[] = [];
  const devices = new Map<string, DevicePb.Device>();
  const keys = new Map<string, DevicePb.DeviceKeys>();
  const profiles = new Map<string, ProfilePb.DeviceProfile>();
  const applications = new Map<string, ApplicationPb.Application>();
  const server = new grpc.Server();
  const empty = (): unknown => new Empty();

  function unary<Req extends { toObject(): object }, Res>(method: string, write: boolean, handler: Handler<Req, Res>): GrpcJs.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const record: RecordedCall = { method, write, request: call.request.toObject() as Record<string, unknown>, code: 0 };
      calls.push(record);
      try {
        const auth = call.metadata.get('authorization')[0];
        if (auth !== `Bearer ${token}`) throw new Status(grpc.status.UNAUTHENTICATED, 'Unauthenticated: invalid or missing API token');
        callback(null, handler(call.request));
      } catch (err) {
        const s = err instanceof Status ? err : new Status(grpc.status.INTERNAL, String(err));
        record.code = s.code;
        callback({ code: s.code, details: s.details, name: 'Error', message: s.details, metadata: new grpc.Metadata() }, null);
      }
    };
  }
  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Status(grpc.status.NOT_FOUND, `Object does not exist (${what})`);
    return v;
  };
  const checkDevice = (d: DevicePb.Device): void => {
    if (!EUI.test(d.getDevEui())) throw new Status(grpc.status.INVALID_ARGUMENT, `invalid DevEUI "${d.getDevEui()}"`);
    if (!d.getName()) throw new Status(grpc.status.INVALID_ARGUMENT, 'name is required');
    if (d.getJoinEui() && !EUI.test(d.getJoinEui())) throw new Status(grpc.status.INVALID_ARGUMENT, `invalid JoinEUI "${d.getJoinEui()}"`);
    need(applications.get(d.getApplicationId()), `application ${d.getApplicationId()}`);
    need(profiles.get(d.getDeviceProfileId()), `device profile ${d.getDeviceProfileId()}`);
  };
  const checkKeys = (k: DevicePb.DeviceKeys): void => {
    need(devices.get(k.getDevEui()), `device ${k.getDevEui()}`);
    // A LoRaWAN 1.0.x device's AppKey goes in nwk_key; ChirpStack requires it.
    if (!KEY.test(k.getNwkKey())) throw new Status(grpc.status.INVALID_ARGUMENT, 'nwk_key must be 32 hex digits');
  };
  const copy = <T extends { serializeBinary(): Uint8Array }>(msg: T, cls: { deserializeBinary(b: Uint8Array): T }): T => cls.deserializeBinary(msg.serializeBinary());

  server.addService(deviceGrpc.DeviceServiceService, {
    get: unary<DevicePb.GetDeviceRequest, DevicePb.GetDeviceResponse>('DeviceService/Get', false, (req) => {
      const res = new devicePb.GetDeviceResponse();
      res.setDevice(copy(need(devices.get(req.getDevEui()), `device ${req.getDevEui()}`), devicePb.Device));
      return res;
    }),
    create: unary<DevicePb.CreateDeviceRequest, unknown>('DeviceService/Create', true, (req) => {
      const d = need(req.getDevice(), 'device');
      checkDevice(d);
      if (devices.has(d.getDevEui())) throw new Status(grpc.status.ALREADY_EXISTS, 'Object already exists');
      devices.set(d.getDevEui(), copy(d, devicePb.Device));
      return empty();
    }),
    update: unary<DevicePb.UpdateDeviceRequest, unknown>('DeviceService/Update', true, (req) => {
      const d = need(req.getDevice(), 'device');
      need(devices.get(d.getDevEui()), `device ${d.getDevEui()}`);
      checkDevice(d);
      devices.set(d.getDevEui(), copy(d, devicePb.Device));
      return empty();
    }),
    createKeys: unary<DevicePb.CreateDeviceKeysRequest, unknown>('DeviceService/CreateKeys', true, (req) => {
      const k = need(req.getDeviceKeys(), 'device keys');
      checkKeys(k);
      if (keys.has(k.getDevEui())) throw new Status(grpc.status.ALREADY_EXISTS, 'Object already exists');
      keys.set(k.getDevEui(), copy(k, devicePb.DeviceKeys));
      return empty();
    }),
    getKeys: unary<DevicePb.GetDeviceKeysRequest, DevicePb.GetDeviceKeysResponse>('DeviceService/GetKeys', false, (req) => {
      const res = new devicePb.GetDeviceKeysResponse();
      res.setDeviceKeys(copy(need(keys.get(req.getDevEui()), `device keys ${req.getDevEui()}`), devicePb.DeviceKeys));
      return res;
    }),
    updateKeys: unary<DevicePb.UpdateDeviceKeysRequest, unknown>('DeviceService/UpdateKeys', true, (req) => {
      const k = need(req.getDeviceKeys(), 'device keys');
      need(keys.get(k.getDevEui()), `device keys ${k.getDevEui()}`);
      checkKeys(k);
      keys.set(k.getDevEui(), copy(k, devicePb.DeviceKeys));
      return empty();
    }),
  } as unknown as GrpcJs.UntypedServiceImplementation);

  server.addService(profileGrpc.DeviceProfileServiceService, {
    list: unary<ProfilePb.ListDeviceProfilesRequest, ProfilePb.ListDeviceProfilesResponse>('DeviceProfileService/List', false, (req) => {
      const res = new profilePb.ListDeviceProfilesResponse();
      const hits = [...profiles.values()].filter((p) => p.getTenantId() === req.getTenantId() && p.getName().toLowerCase().includes(req.getSearch().toLowerCase()));
      res.setTotalCount(hits.length);
      res.setResultList(
        hits.slice(req.getOffset(), req.getOffset() + (req.getLimit() || 10)).map((p) => {
          const item = new profilePb.DeviceProfileListItem();
          item.setId(p.getId());
          item.setName(p.getName());
          item.setRegion(p.getRegion());
          item.setMacVersion(p.getMacVersion());
          return item;
        }),
      );
      return res;
    }),
    get: unary<ProfilePb.GetDeviceProfileRequest, ProfilePb.GetDeviceProfileResponse>('DeviceProfileService/Get', false, (req) => {
      const res = new profilePb.GetDeviceProfileResponse();
      res.setDeviceProfile(copy(need(profiles.get(req.getId()), `device profile ${req.getId()}`), profilePb.DeviceProfile));
      return res;
    }),
    create: unary<ProfilePb.CreateDeviceProfileRequest, ProfilePb.CreateDeviceProfileResponse>('DeviceProfileService/Create', true, (req) => {
      const p = copy(need(req.getDeviceProfile(), 'device profile'), profilePb.DeviceProfile);
      if (!p.getName()) throw new Status(grpc.status.INVALID_ARGUMENT, 'name is required');
      if (p.getTenantId() !== tenantId) throw new Status(grpc.status.NOT_FOUND, `Object does not exist (tenant ${p.getTenantId()})`);
      p.setId(randomUUID());
      profiles.set(p.getId(), p);
      const res = new profilePb.CreateDeviceProfileResponse();
      res.setId(p.getId());
      return res;
    }),
    update: unary<ProfilePb.UpdateDeviceProfileRequest, unknown>('DeviceProfileService/Update', true, (req) => {
      const p = need(req.getDeviceProfile(), 'device profile');
      need(profiles.get(p.getId()), `device profile ${p.getId()}`);
      profiles.set(p.getId(), copy(p, profilePb.DeviceProfile));
      return empty();
    }),
  } as unknown as GrpcJs.UntypedServiceImplementation);

  server.addService(applicationGrpc.ApplicationServiceService, {
    list: unary<ApplicationPb.ListApplicationsRequest, ApplicationPb.ListApplicationsResponse>('ApplicationService/List', false, (req) => {
      const res = new applicationPb.ListApplicationsResponse();
      const hits = [...applications.values()].filter((a) => a.getTenantId() === req.getTenantId() && a.getName().toLowerCase().includes(req.getSearch().toLowerCase()));
      res.setTotalCount(hits.length);
      res.setResultList(
        hits.map((a) => {
          const item = new applicationPb.ApplicationListItem();
          item.setId(a.getId());
          item.setName(a.getName());
          return item;
        }),
      );
      return res;
    }),
    create: unary<ApplicationPb.CreateApplicationRequest, ApplicationPb.CreateApplicationResponse>('ApplicationService/Create', true, (req) => {
      const a = copy(need(req.getApplication(), 'application'), applicationPb.Application);
      if (!a.getName()) throw new Status(grpc.status.INVALID_ARGUMENT, 'name is required');
      if (a.getTenantId() !== tenantId) throw new Status(grpc.status.NOT_FOUND, `Object does not exist (tenant ${a.getTenantId()})`);
      a.setId(randomUUID());
      applications.set(a.getId(), a);
      const res = new applicationPb.CreateApplicationResponse();
      res.setId(a.getId());
      return res;
    }),
  } as unknown as GrpcJs.UntypedServiceImplementation);

  const streams = new Map<string, Set<GrpcJs.ServerWritableStream<InternalPb.StreamDeviceEventsRequest, InternalPb.LogItem>>>();
  server.addService(internalGrpc.InternalServiceService, {
    streamDeviceEvents: (call: GrpcJs.ServerWritableStream<InternalPb.StreamDeviceEventsRequest, InternalPb.LogItem>) => {
      calls.push({ method: 'InternalService/StreamDeviceEvents', write: false, request: call.request.toObject() as Record<string, unknown>, code: 0 });
      if (call.metadata.get('authorization')[0] !== `Bearer ${token}`) {
        call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: 'Unauthenticated: invalid or missing API token' });
        return;
      }
      const eui = call.request.getDevEui();
      const set = streams.get(eui) ?? new Set();
      streams.set(eui, set);
      set.add(call);
      call.on('cancelled', () => set.delete(call));
      call.on('close', () => set.delete(call));
    },
  } as unknown as GrpcJs.UntypedServiceImplementation);

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return {
    port,
    token,
    tenantId,
    calls,
    devices,
    keys,
    profiles,
    applications,
    emitEvent(devEui, description, body) {
      for (const call of streams.get(devEui) ?? []) {
        const item = new internalPb.LogItem();
        item.setId(randomUUID());
        item.setDescription(description);
        item.setBody(JSON.stringify(body));
        call.write(item);
      }
    },
    watchers: (devEui) => streams.get(devEui)?.size ?? 0,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const set of streams.values()) for (const call of set) call.end();
        server.tryShutdown(() => resolve());
      }),
  };
}
