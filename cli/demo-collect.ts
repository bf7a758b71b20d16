/**
 * The demo's bins to collect: tomorrow's collection list from the gateway's local store, computed
 * by gateway/analytics exactly as `lorawan-edge collect` and the planner page do. It waits (bounded)
 * for the store to apply every record first, so the list covers the whole simulated period.
 */
import type { CollectionList } from '../gateway/analytics/collection-list.ts';
import type { Gateway } from '../gateway/gateway.ts';
import { tomorrowOf } from '../gateway/web/planner-api.ts';
import { openStoreReadOnly, planForDate, PLANNER_DEFAULTS } from '../gateway/web/store/planner-store.ts';

export async function demoCollectionList(gateway: Gateway, storeFile: string | undefined): Promise<{ date: string; list: CollectionList } | undefined> {
  if (storeFile === undefined || !gateway.web) return undefined;
  const until = Date.now() + 30_000;
  while (gateway.web.sink.pending() > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  const now = Date.now();
  const date = tomorrowOf(now);
  const db = openStoreReadOnly(storeFile);
  try {
    return { date, list: planForDate(db, date, now, PLANNER_DEFAULTS) };
  } finally {
    db.close();
  }
}
