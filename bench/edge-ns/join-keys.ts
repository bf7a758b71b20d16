/**
 * bench/edge-ns/join-keys.ts — the AES work of one join in the network server (join-request MIC,
 * session key derivation, join-accept MIC and encryption) with the AppKey as a raw Buffer (a
 * node:crypto `AesKey` per join: three cipher objects) against a `SoftAesKey` (plain-JS
 * encryption; only the join-accept's AES decryption stays on node:crypto). Interleaved rounds.
 *
 *   node --import tsx bench/edge-ns/join-keys.ts [--joins 5000] [--rounds 3]
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { CipherKeyInput } from '../../lorawan/aes.ts';
import { SoftAesKey } from '../../lorawan/aes-soft.ts';
import { buildJoinAccept, buildJoinRequest, verifyJoinRequestMic } from '../../lorawan/join.ts';
import { parsePhyPayload, type JoinRequestFrame } from '../../lorawan/phy-payload.ts';
import { deriveSessionKeys } from '../../lorawan/session-keys.ts';

const { values } = parseArgs({ options: { joins: { type: 'string', default: '5000' }, rounds: { type: 'string', default: '3' } } });
const N = Number(values.joins);
const ROUNDS = Number(values.rounds);
const hexKeys = Array.from({ length: N }, (_, i) => (BigInt(i) * 0x9e3779b97f4a7c15n + 3n).toString(16).padStart(32, '0').slice(-32));
const requests = hexKeys.map((k, i) => {
  const p = parsePhyPayload(buildJoinRequest({ joinEui: 'aa13693363343639', devEui: (0x1000n + BigInt(i)).toString(16).padStart(16, '0'), devNonce: i & 0xffff }, Buffer.from(k, 'hex')));
  if (!p.ok || p.frame.kind !== 'join-request') throw new Error('join-request');
  return p.frame;
});
const CF_LIST = [867_100_000, 867_300_000, 867_500_000, 867_700_000, 867_900_000];

/** CPU µs per join, the AppKey read from hex per join as the network server does. */
function run(prepare: (b: Buffer) => CipherKeyInput): number {
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    const appKey = prepare(Buffer.from(hexKeys[i] as string, 'hex'));
    if (!verifyJoinRequestMic(requests[i] as JoinRequestFrame, appKey)) throw new Error('MIC');
    deriveSessionKeys(appKey, { joinNonce: i, netId: 0x13, devNonce: i & 0xffff });
    buildJoinAccept({ joinNonce: i, netId: 0x13, devAddr: 0x26000000 + i, rx1DrOffset: 0, rx2DataRate: 0, rxDelay: 1, cfList: { type: 'frequencies', frequenciesHz: CF_LIST } }, appKey);
  }
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / N;
}

const raw: number[] = [];
const soft: number[] = [];
const load0 = loadavg().map((x) => x.toFixed(1)).join(' ');
for (let r = 0; r < ROUNDS + 1; r++) {
  const a = run((b) => b);
  const b = run((k) => new SoftAesKey(k));
  if (r === 0) continue; // warm-up
  raw.push(a);
  soft.push(b);
}
const f1 = (xs: number[]): string => xs.map((x) => x.toFixed(1)).join(' / ');
console.log(`bench/edge-ns/join-keys.ts: ${N.toLocaleString('en')} joins × ${ROUNDS} rounds each way, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load average ${load0} → ${loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
console.log('| AppKey as | CPU µs per join (rounds) |\n|---|---|');
console.log(`| Buffer (node:crypto AesKey per join, before) | ${f1(raw)} |`);
console.log(`| SoftAesKey (after) | ${f1(soft)} |`);
