/**
 * The gateways connected right now — those whose forwarder sent a PULL_DATA within the last
 * `horizonMs` — so the dedup window can close as soon as every one of them has reported a frame
 * (`dedup.ts`): no other copy can come. ChirpStack always waits its full window.
 *
 * A forwarder sends PULL_DATA every `keepalive_interval` (5 s in the Semtech code, 10 s in the
 * sx1302 configs); the horizon is twice the configured keepalive, so one lost PULL_DATA (UDP)
 * does not make a gateway look gone — that would close windows before its copy and turn its
 * copy into a `late_copy`. A gateway that really went away makes windows wait their full length
 * for at most one horizon: the window stays the upper bound either way.
 *
 * Bounded: at most `max` gateways (EUIs are external input); past that the least recently
 * seen is forgotten.
 */
export class ConnectedGateways {
  /** EUI → monotonic ms of its last PULL_DATA; Map order = least recently seen first */
  private readonly lastPull = new Map<string, number>();

  constructor(
    private readonly horizonMs: number,
    private readonly max = 4096,
  ) {}

  pulled(gatewayEui: string, at: number): void {
    this.lastPull.delete(gatewayEui);
    if (this.lastPull.size >= this.max) {
      const oldest = this.lastPull.keys().next().value;
      if (oldest !== undefined) this.lastPull.delete(oldest);
    }
    this.lastPull.set(gatewayEui, at);
  }

  /** Whether `gatewayEui` sent a PULL_DATA within the horizon (expected-gateways.ts waits only for those). */
  isConnected(gatewayEui: string, now: number): boolean {
    const at = this.lastPull.get(gatewayEui);
    return at !== undefined && now - at <= this.horizonMs;
  }

  /**
   * Whether every connected gateway is among `reported`. False when none is connected: then
   * nothing is known about who else may hear the frame, and the window runs its full length.
   */
  allReported(reported: readonly { gatewayEui: string }[], now: number): boolean {
    let connected = 0;
    // Newest first would allow an early break, but Map iteration is oldest first; the set is
    // small (the site's gateways), so a full pass is cheap.
    for (const [eui, at] of this.lastPull) {
      if (now - at > this.horizonMs) continue;
      connected++;
      let found = false;
      for (const r of reported) if (r.gatewayEui === eui) found = true;
      if (!found) return false;
    }
    return connected > 0;
  }
}
