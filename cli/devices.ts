/** `lorawan-edge devices [--json]`: lists the device catalogue. */
import { parseArgs } from 'node:util';
import { loadCatalogue } from '../devices/catalogue.ts';
import { EXIT_OK, UsageError, type Io } from './usage.ts';

export const DEVICES_HELP = `Usage: lorawan-edge devices [--json] [--category <bin-fill|water-meter|air-quality|generic>]

Lists the device catalogue (devices/<vendor>/<device>.yaml): id, category, codec, ports, model.`;

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

export async function runDevices(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, category: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    io.stdout.write(`${DEVICES_HELP}\n`);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (devices takes no arguments)`);
  const catalogue = loadCatalogue();
  for (const p of catalogue.problems) io.stderr.write(`warning: ${p.file}: ${p.field}: ${p.message}\n`);
  const devices = catalogue.devices.filter((d) => !values.category || d.category === values.category);
  if (values.json) {
    io.stdout.write(
      `${JSON.stringify(
        devices.map(({ file: _file, ...d }) => d),
        null,
        2,
      )}\n`,
    );
    return EXIT_OK;
  }
  const rows = [['ID', 'CATEGORY', 'CODEC', 'FPORTS', 'MODEL']];
  for (const d of devices) {
    const codec = typeof d.codec === 'string' ? d.codec : `script:${d.codec.script}`;
    rows.push([d.id, d.category, codec, d.fPorts.length ? d.fPorts.join(',') : 'any', d.name]);
  }
  io.stdout.write(`${table(rows)}\n`);
  return EXIT_OK;
}
