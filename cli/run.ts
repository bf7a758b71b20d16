/**
 * The command as a program: main() on this process's arguments and stdio. `bin/lorawan-edge`
 * imports this module from the sources (through tsx) or its bundle `dist/lorawan-edge.mjs`
 * (`npm run build`, see scripts/build.mjs), which also runs on its own: `node dist/lorawan-edge.mjs`.
 */
import { endQuietlyWhenClosed } from './closed-output.ts';
import { main } from './main.ts';

endQuietlyWhenClosed(process.stdout);
endQuietlyWhenClosed(process.stderr);

process.exitCode = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin });
