import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInfluxd, type InfluxdServer } from './influxd.ts';

async function write(server: InfluxdServer, body: string, headers: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`${server.url}/write?db=${server.database ?? ''}&precision=ms`, { method: 'POST', body, headers });
  await res.arrayBuffer();
  return res.status;
}

describe('startInfluxd', () => {
  let server: InfluxdServer;
  beforeAll(async () => {
    server = await startInfluxd();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('answers /ping with 204 and has the database', async () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    expect(await server.ping()).toBe(true);
    const res = await fetch(`${server.url}/ping`);
    expect(res.status).toBe(204);
    expect(res.headers.get('x-influxdb-version')).toMatch(/^1\./);
    const dbs = await server.query('SHOW DATABASES', { db: null });
    expect(dbs[0]?.values.flat()).toContain('test');
  });

  it('keeps written data across stop/start on the same port and data folder, and across a SIGKILL', async () => {
    expect(await write(server, 'support,k=a v=1 1700000000000\nsupport,k=b v=2 1700000000001')).toBe(204);
    const port = server.port;
    const pid = server.pid;
    await server.stop();
    expect(server.running).toBe(false);
    expect(await server.ping()).toBe(false);
    await server.start();
    expect(server.port).toBe(port);
    expect(server.pid).not.toBe(pid);
    expect(await server.countPoints('support')).toBe(2);

    expect(await write(server, 'support,k=c v=3 1700000000002')).toBe(204);
    await server.kill(); // the WAL is fsynced per write, so the point survives a crash
    await server.start();
    expect(await server.countPoints('support')).toBe(3);
    const rows = await server.rows('SELECT * FROM support WHERE k = \'c\'');
    expect(rows).toEqual([{ time: 1700000000002, k: 'c', v: 3 }]);
  });

  it('restart() comes back on the same URL', async () => {
    const url = server.url;
    await server.restart();
    expect(server.url).toBe(url);
    expect(await server.ping()).toBe(true);
  });
});

describe('startInfluxd with auth', () => {
  let server: InfluxdServer;
  beforeAll(async () => {
    server = await startInfluxd({ auth: { username: 'admin', password: 's3cret-pw' }, database: 'authdb' });
  });
  afterAll(async () => {
    await server?.dispose();
  });

  it('requires the credentials it was started with', async () => {
    expect(await write(server, 'a v=1 1')).toBe(401);
    const basic = `Basic ${Buffer.from('admin:s3cret-pw').toString('base64')}`;
    expect(await write(server, 'a v=1 1', { authorization: basic })).toBe(204);
    expect(await server.countPoints('a')).toBe(1);
  });
});
