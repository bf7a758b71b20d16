// Manual experiment (not a test): a 150 MB message to a gateway with an 80 MB heap.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import mqtt from 'mqtt';
import { startMosquitto } from '../support/mosquitto.ts';
import { freePort } from '../support/free-port.ts';

const broker = await startMosquitto();
const dir = mkdtempSync(join(tmpdir(), 'big-'));
const http = await freePort();
writeFileSync(join(dir, 'gateway.yaml'), `data_dir: ./data\nhttp: { listen: "127.0.0.1:${http}" }\nlog: { level: warn }\nsources:\n  - type: chirpstack_mqtt\n    url: ${broker.url}\nsinks:\n  - type: file\n    name: file\n`);
const gw = spawn(process.execPath, ['--max-old-space-size=80', '--import', 'tsx', '/work/wt-poison/cli/run.ts', 'gateway', '--config', join(dir, 'gateway.yaml')], { cwd: '/work/wt-poison', stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, LORAWAN_EDGE_FROM_SOURCE: '1' } });
const until = async (f: () => Promise<boolean>) => { for (let i = 0; i < 600; i++) { if (await f().catch(() => false)) return; await new Promise((r) => setTimeout(r, 200)); } throw new Error('timeout'); };
await until(async () => (await fetch(`http://127.0.0.1:${http}/healthz`)).status === 200);
const pub = await mqtt.connectAsync(broker.url, { clientId: 'big-pub' });
await pub.publishAsync('application/x/device/70b3d5e75e000501/event/up', Buffer.alloc(150 * 1024 * 1024, 0x7b), { qos: 1 });
await pub.endAsync();
await until(async () => /reason="oversized"\} 1/.test(await (await fetch(`http://127.0.0.1:${http}/metrics`)).text()));
const status = readFileSync(`/proc/${gw.pid}/status`, 'utf8');
console.log('alive:', gw.exitCode === null, status.split('\n').filter((l) => /VmHWM|VmRSS/.test(l)).join(' '));
const rej = readFileSync(join(dir, 'data', 'rejects.jsonl'), 'utf8');
console.log('rejects file bytes:', rej.length, JSON.parse(rej.trim().split('\n')[0]!).payloadBytes);
gw.kill('SIGTERM');
await new Promise((r) => gw.on('exit', r));
console.log('exit code', gw.exitCode);
await broker.dispose();
