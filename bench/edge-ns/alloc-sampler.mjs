// Preloaded into the gateway (`'--node-flags=--import <this file>'`, with ALLOC_PROFILE=<out file>):
// a sampling allocation profile that, unlike `--heap-prof`, also keeps the objects the GC has
// collected since (V8's includeObjectsCollectedBy{Major,Minor}GC), so it shows what is allocated
// per uplink, not only what is alive at the end. With ALLOC_KEEP=promoted it keeps only the
// objects no scavenge collected — what survived the young generation (promoted, whether a
// mark-compact freed it later or not), i.e. what makes the mark-compacts and the scavenges'
// copying. SIGUSR2 starts sampling, the next SIGUSR2 stops
// and writes the profile (Chrome's .heapprofile JSON; bench/edge-ns/alloc-summary.ts reads it).
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const out = process.env.ALLOC_PROFILE;
if (out) {
  const session = new Session();
  session.connect();
  session.post('HeapProfiler.enable');
  let running = false;
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      session.post('HeapProfiler.startSampling', { samplingInterval: Number(process.env.ALLOC_INTERVAL ?? 4096), includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: process.env.ALLOC_KEEP !== 'promoted' });
      return;
    }
    running = false;
    session.post('HeapProfiler.stopSampling', (err, r) => {
      if (err) console.error(`alloc-sampler: ${err.message}`);
      else writeFileSync(out, JSON.stringify(r.profile));
    });
  });
}
