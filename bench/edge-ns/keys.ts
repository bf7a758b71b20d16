/**
 * bench/edge-ns/keys.ts — what a data uplink's crypto costs the network server when its
 * session key is cold (the usual case: a city device sends every few minutes, so its prepared
 * key is rarely still cached): MIC check + FRMPayload decryption of a 12-byte uplink, with a
 * fresh key object per uplink, on node:crypto ciphers (`AesKey`, what the network server used)
 * and on plain-JS AES (`SoftAesKey`, what it uses now). Also the warm case (same key again).
 *
 *   node --import tsx bench/edge-ns/keys.ts [--n 20000]
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { AesKey } from '../../lorawan/aes.ts';
import { SoftAesKey } from '../../lorawan/aes-soft.ts';
import { buildDataFrame, openDataFrame } from '../../lorawan/data-frame.ts';
import { parsePhyPayload, type DataFrame } from '../../lorawan/phy-payload.ts';

const { values } = parseArgs({ options: { n: { type: 'string', default: '20000' } } });
const N = Number(values.n);
const keys = Array.from({ length: N }, (_, i) => ({ nwk: Buffer.alloc(16, i & 0xff).fill((i >> 8) & 0xff, 0, 4), app: Buffer.alloc(16, (i * 7) & 0xff).fill((i >> 8) & 0xff, 8, 12) }));
const frames: DataFrame[] = keys.map((k, i) => {
  const phy = buildDataFrame({ mType: 'UnconfirmedDataUp', devAddr: 0x26000000 + i, fCnt: 5, fCtrl: { adr: true }, fPort: 1, payload: Buffer.alloc(12, 0x42) }, { nwkSKey: k.nwk, appSKey: k.app });
  const p = parsePhyPayload(phy);
  if (!p.ok || p.frame.kind !== 'data') throw new Error('frame');
  return p.frame;
});

function run(label: string, make: (b: Buffer) => AesKey, warm: boolean): string {
  const warmKeys = warm ? keys.map((k) => ({ nwk: make(k.nwk), app: make(k.app) })) : undefined;
  const cpu0 = process.cpuUsage();
  let ok = 0;
  for (let i = 0; i < N; i++) {
    const k = keys[i] as (typeof keys)[number];
    const w = warmKeys?.[i];
    const opened = openDataFrame(frames[i] as DataFrame, { nwkSKey: w?.nwk ?? make(k.nwk), appSKey: w?.app ?? make(k.app) }, 5);
    if (opened.micValid) ok++;
  }
  const c = process.cpuUsage(cpu0);
  if (ok !== N) throw new Error(`${label}: ${ok} of ${N} MICs verified`);
  return `| ${label} | ${warm ? 'warm' : 'cold'} | ${(((c.user + c.system) / N)).toFixed(1)} |`;
}

const rows = [
  run('node:crypto (AesKey)', (b) => new AesKey(b), false),
  run('plain JS (SoftAesKey)', (b) => new SoftAesKey(b), false),
  run('node:crypto (AesKey)', (b) => new AesKey(b), true),
  run('plain JS (SoftAesKey)', (b) => new SoftAesKey(b), true),
];
console.log(`bench/edge-ns/keys.ts: ${N.toLocaleString('en')} uplinks (12-byte payload), ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
console.log('| AES | key | CPU µs per uplink (MIC + decrypt) |\n|---|---|---|');
console.log(rows.join('\n'));
