/**
 * `lorawan-edge demo`: what `npm run demo` runs. Needs no server. For now it walks the device
 * catalogue, decodes each codec's example uplinks with typical installation variables and shows
 * the normalized readings per category — the same path a live uplink takes through the gateway.
 */
import { parseArgs } from 'node:util';
import { fromHex } from '../codecs/bytes.ts';
import { loadCatalogue } from '../devices/catalogue.ts';
import { examplesOf, resolveCodec } from '../devices/resolve.ts';
import { decodeOne } from './decode.ts';
import { EXIT_ERRORS, EXIT_OK, type Io } from './usage.ts';

export const DEMO_HELP = `Usage: lorawan-edge demo

Decodes the example uplinks of every catalogue device and prints normalized readings per
category. No server or radio needed.`;

/** A typical drop-off container: 1.2 m deep, sensor 5 cm above the brim. */
const DEMO_VARIABLES = { container_depth_mm: 1200, sensor_offset_mm: 50 };

export async function runDemo(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h', default: false } } });
  if (values.help) {
    io.stdout.write(`${DEMO_HELP}\n`);
    return EXIT_OK;
  }
  const catalogue = loadCatalogue();
  const recvTime = new Date();
  let uplinks = 0;
  let failed = 0;
  const perCategory = new Map<string, number>();
  for (const entry of catalogue.devices) {
    const codec = await resolveCodec(entry);
    const ex = examplesOf(entry);
    io.stdout.write(`\n== ${entry.id} (${entry.category}) — ${entry.name}\n`);
    for (const e of (ex?.file.examples ?? []).filter((x) => x.expected !== null).slice(0, 3)) {
      const bytes = fromHex(e.bytesHex);
      if (!bytes) continue;
      uplinks++;
      const out = decodeOne(codec, bytes, e.fPort, { ...DEMO_VARIABLES, ...(e.variables ?? {}) }, e.recvTime ? new Date(e.recvTime) : recvTime);
      if (out.errors.length) failed++;
      io.stdout.write(`  fPort ${e.fPort} ${e.bytesHex.length > 40 ? `${e.bytesHex.slice(0, 40)}…` : e.bytesHex}\n`);
      for (const r of out.readings.slice(0, 3)) {
        perCategory.set(entry.category, (perCategory.get(entry.category) ?? 0) + 1);
        io.stdout.write(`    ${r.time ?? 'now'}  ${Object.entries(r.values).map(([k, v]) => `${k}=${String(v)}`).join(' ')}\n`);
      }
      if (out.readings.length > 3) io.stdout.write(`    … ${out.readings.length - 3} more timed readings\n`);
      for (const w of out.warnings) io.stdout.write(`    warning: ${w}\n`);
      for (const er of out.errors) io.stdout.write(`    error: ${er}\n`);
    }
  }
  io.stdout.write(`\nSummary: ${catalogue.devices.length} device types, ${uplinks} uplinks decoded, ${failed} with errors\n`);
  for (const [cat, n] of perCategory) io.stdout.write(`  ${cat}: ${n} readings\n`);
  io.stdout.write('Try: ./bin/lorawan-edge decode --device dingtek/df703 --fport 3 800001011107d000190000000000010081 --var container_depth_mm=1200\n');
  return failed > 0 ? EXIT_ERRORS : EXIT_OK;
}
