/**
 * The web side of the gateway in one piece for `createGateway()`: sink `local` (the store) and,
 * when `web.enabled`, the pages and read API for the HTTP endpoint. See gateway/web/README.md.
 */
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { PACKAGE_ROOT } from '../../codecs/package-root.ts';
import type { DeviceEntry } from '../../devices/catalogue.ts';
import type { DurableLog } from '../buffer/index.ts';
import type { GatewayConfig } from '../config.ts';
import type { GatewayMetrics } from '../metrics.ts';
import type { ComponentHealth } from '../pipeline/contracts.ts';
import type { PipelineRecord } from '../pipeline/record.ts';
import type { DeviceRegistry } from '../registry/devices-file.ts';
import { LocalStoreSink } from './store/local-sink.ts';
import { WebHandler } from './web-handler.ts';

/** Where `npm run build` puts the page assets. */
export const WEB_ASSETS_DIR = join(PACKAGE_ROOT, 'dist', 'web');

export interface WebSide {
  readonly sink: LocalStoreSink;
  /** undefined when web.enabled is false (the store still runs) */
  readonly handler: WebHandler | undefined;
  setRegistry(registry: DeviceRegistry): void;
}

export function createWebSide(deps: {
  config: GatewayConfig;
  log: DurableLog<PipelineRecord>;
  metrics: GatewayMetrics;
  logger: Logger;
  now: () => number;
  catalogue: (model: string) => DeviceEntry | undefined;
  health: () => Record<string, ComponentHealth & { kind: string }>;
}): WebSide | undefined {
  const { web } = deps.config;
  if (!web.store.enabled) return undefined;
  const logger = deps.logger.child({ sink: web.store.name });
  const sink = new LocalStoreSink({
    name: web.store.name,
    log: deps.log,
    metrics: deps.metrics,
    now: deps.now,
    logger: { warn: (o, m) => logger.warn(o, m), error: (o, m) => logger.error(o, m) },
    fileKey: web.store.file === resolve(deps.config.data_dir, 'local.sqlite') ? 'data_dir' : 'web.store.file',
    store: { file: web.store.file, historyDays: web.store.history_days, framesPerDevice: web.store.frames_per_device, communeTag: web.commune_tag, locationTags: web.location_tags },
  });
  const handler = web.enabled
    ? new WebHandler({ config: web, gateway: deps.config.name, sink, assetsDir: WEB_ASSETS_DIR, now: deps.now, metrics: deps.metrics, health: deps.health, logger })
    : undefined;
  return {
    sink,
    handler,
    setRegistry(registry) {
      void sink.setRegistry(
        registry.devices.map((d) => {
          const entry = deps.catalogue(d.model);
          return { dev_eui: d.dev_eui, name: d.name, model: d.model, tags: d.tags, ...(entry ? { category: entry.category, interval_s: entry.reportingInterval } : {}) };
        }),
      );
    },
  };
}
