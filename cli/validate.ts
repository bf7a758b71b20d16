/** `lorawan-edge validate`: checks the catalogue and prints every problem with file and field. */
import { formatProblems, validateCatalogue } from '../devices/validate.ts';
import { EXIT_ERRORS, EXIT_OK, UsageError, type Io } from './usage.ts';

export const VALIDATE_HELP = `Usage: lorawan-edge validate

Checks every devices/<vendor>/<device>.yaml against the schema, every cross-reference (codec
exists and loads, ports, category, reading names and units) and runs every codec example
through the production loader. Prints all problems at once; exit 1 when there are any.`;

export async function runValidate(argv: string[], io: Io): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(`${VALIDATE_HELP}\n`);
    return EXIT_OK;
  }
  if (argv.length > 0) throw new UsageError(`unexpected argument "${argv[0]}" (validate takes no arguments)`);
  const report = await validateCatalogue();
  if (report.problems.length > 0) {
    io.stderr.write(`${formatProblems(report.problems)}\n`);
    io.stderr.write(`catalogue: ${report.problems.length} problem(s) in ${report.devices} device(s)\n`);
    return EXIT_ERRORS;
  }
  io.stdout.write(`catalogue ok: ${report.devices} device(s), ${report.examples} example(s) pass\n`);
  return EXIT_OK;
}
