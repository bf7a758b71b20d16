import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { helper } from '../testing.ts';
import type { CatalogueNode } from './catalogue-node.ts';
import nodes from './index.ts';

describe('lorawan-device-catalogue', () => {
  let dir: string;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lorawan-edge-catalogue-'));
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads the built-in catalogue plus an extra folder whose entries are added', async () => {
    mkdirSync(join(dir, 'extra', 'cityco'), { recursive: true });
    writeFileSync(
      join(dir, 'extra', 'cityco', 'lpp-bin.yaml'),
      'id: cityco/lpp-bin\nvendor: cityco\nmodel: LPP-BIN\nname: City bin sensor (Cayenne LPP)\ncategory: generic\ncodec: generic/cayenne-lpp\nfPorts: []\nreadings: { temperature_c: °C }\nreportingInterval: 600\n',
    );
    await helper.load(nodes, [{ id: 'cat', type: 'lorawan-device-catalogue', extraDirs: join(dir, 'extra') }]);
    const n = helper.getNode('cat') as unknown as CatalogueNode;
    expect(n.failure).toBeUndefined();
    expect(n.catalogue?.problems).toEqual([]);
    expect(n.catalogue?.entries.has('dragino/ldds75')).toBe(true);
    expect(n.catalogue?.entries.get('cityco/lpp-bin')?.name).toBe('City bin sensor (Cayenne LPP)');
  });

  it('names the setting that is wrong: a registry entry with an unknown model', async () => {
    const reg = join(dir, 'devices.yaml');
    writeFileSync(reg, 'devices:\n  - dev_eui: "0102030405060708"\n    name: x\n    model: no/such-model\n');
    await helper.load(nodes, [{ id: 'cat', type: 'lorawan-device-catalogue', registryFile: reg }]);
    const n = helper.getNode('cat') as unknown as CatalogueNode;
    expect(n.failure).toMatch(/^registry file: .*devices\[0\]\.model/);
  });

  it('serves the catalogue ids to the editor on the admin API', async () => {
    await helper.load(nodes, []);
    // The helper's request() is supertest over the runtime's admin express app.
    const admin = helper as unknown as { request(): { get(p: string): Promise<{ status: number; body: { id: string; downlink: boolean }[] }> } };
    const res = await admin.request().get('/lorawan-edge/catalogue');
    expect(res.status).toBe(200);
    expect(res.body.find((d) => d.id === 'dragino/ldds75')?.downlink).toBe(true);
  });
});
