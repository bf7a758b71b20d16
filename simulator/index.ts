/**
 * The simulator's public API, for the CLI (`lorawan-edge simulate`), `npm run demo` and the
 * gateway's end-to-end tests:
 *
 * ```ts
 * const sim = await createSimulation({
 *   fleet: 'simulator/fleets/demo.yaml', seed: 1, speed: 'max',
 *   output: { type: 'udp', host: '127.0.0.1', port: 1700 },
 *   ledger: '/tmp/ledger.jsonl', keys: '/tmp/keys.json',
 * });
 * await sim.run({ count: 100 });   // or { durationMs: 7 * 86_400_000 }
 * console.log(sim.stats());
 * await sim.stop();
 * ```
 */
export { createSimulation, type OutputSpec, type RunLimit, type Simulation, type SimulationOptions, type SimulationStats } from './simulation.ts';
export { loadFleet, parseFleet, FleetError, type Fleet, type FleetGateway, type FleetGroup } from './fleet.ts';
export { expandFleet, type Population, type SimDevice } from './population.ts';
export { lookupForFleet, type DeviceLookup } from './lookup.ts';
export { FAULT_NAMES, parseOutageSpec, parseProbability, type FaultName, type FaultOptions, type GatewayOutageSpec } from './faults.ts';
export { parseDuration, formatDuration } from './duration.ts';
export { LedgerWriter, readLedger, type LedgerEntry, type LedgerGateway } from './ledger.ts';
export { keysFileOf, readKeysFile, validateKeysFile, writeKeysFile, KeysFileError, type KeysEntry, type KeysFile } from './keys-file.ts';
export { chirpstackIdentity, type ChirpstackIdentity } from './chirpstack.ts';
export type { SimJoin, SimJoinRequest, SimUplink, GatewayReception } from './frames.ts';
export type { SimOutput, OutputHost, OutputCounters } from './outputs/output.ts';
export { UdpForwarderOutput, type UdpOutputOptions } from './outputs/udp-forwarder.ts';
export { MqttChirpstackOutput, type ChirpstackFormat, type MqttOutputOptions } from './outputs/mqtt-chirpstack.ts';
export { NullOutput, type NullOutputOptions } from './outputs/none.ts';
export { formatSummary } from './summary.ts';
