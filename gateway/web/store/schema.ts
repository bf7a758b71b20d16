/**
 * The local store's SQLite schema (better-sqlite3, WAL). It is a sink of the durable log: the
 * pages and the read API read it, so they work with no InfluxDB and no backhaul.
 *
 * Tables (all times are ms since epoch, integers; EUIs lowercase hex):
 * - `meta(key, value)`: `schema_version`, `applied_id` — the id of the last log record applied.
 *   It is written in the same transaction as the record's effects, so a crash between that
 *   transaction and the log cursor's commit replays nothing twice (exactly once).
 * - `devices`: who a device is — from the registry (`registered = 1`) or, for a device heard but
 *   not registered, from the record's device snapshot. `commune` is the configured tag's value,
 *   `lat`/`lon` the configured location tags, `interval_s` the catalogue's reporting interval.
 * - `device_state`: the latest state per device (last uplink, join, status, readings, counters,
 *   `interval_ms` = observed reporting interval). One row per heard device.
 * - `device_gateways`: per device and gateway, the last RSSI/SNR and when it was heard.
 * - `gateways`: every gateway seen in uplinks: last uplink time, uplinks heard.
 * - `readings(id, dev_eui, time, values)`: the bounded history of normalized readings, one row
 *   per device and reading time with its values as a JSON object, unique on (dev_eui, time):
 *   "fill_pct of this bin over the last 14 days" is a range scan of that index. Rows are
 *   appended in arrival order (rowid) rather than clustered by device: a city's devices report
 *   interleaved, and a table clustered by device made every batch rewrite one page per device
 *   (bench/web: 12 KB of WAL per uplink). Pruned by age along `readings_time`, oldest first,
 *   without visiting devices (readings arrive roughly in time order, so its inserts go to the
 *   index's last page; a store from before it gets the index when the writer opens it).
 * - `frames(log_id, dev_eui, …)`: raw uplinks, appended; the newest N per device are what is
 *   read, older ones are deleted by the periodic pruning (again: no random page per uplink).
 * - `alarms`: codec alarms (`alarm_*` readings that are true): raised once, updated while
 *   active, `cleared_at` when a reading says false again; `acked_at`/`acked_by` for the
 *   acknowledgement. At most one active alarm per (device, kind).
 *
 * Later modules (planner analytics) read `readings` by (dev_eui, time) and `devices` by
 * category/commune, and add their own tables with their own prefix (e.g. `planner_*`) and their
 * own `meta` keys; this module never drops tables it does not know.
 */
export const SCHEMA_VERSION = 1;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS devices (
  dev_eui TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  model TEXT,
  category TEXT,
  commune TEXT,
  tags TEXT NOT NULL DEFAULT '{}',
  lat REAL,
  lon REAL,
  interval_s INTEGER,
  registered INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS devices_category ON devices (category);
CREATE INDEX IF NOT EXISTS devices_commune ON devices (commune);
CREATE INDEX IF NOT EXISTS devices_name ON devices (name, dev_eui);
CREATE TABLE IF NOT EXISTS device_state (
  dev_eui TEXT PRIMARY KEY,
  first_seen INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  last_uplink INTEGER,
  last_rx_at INTEGER,
  dev_addr TEXT,
  fcnt INTEGER,
  fport INTEGER,
  dr INTEGER,
  sf INTEGER,
  frequency INTEGER,
  gateway_count INTEGER,
  best_rssi REAL,
  best_snr REAL,
  best_gateway TEXT,
  uplinks INTEGER NOT NULL DEFAULT 0,
  decode_errors INTEGER NOT NULL DEFAULT 0,
  joined_at INTEGER,
  joins INTEGER NOT NULL DEFAULT 0,
  status_at INTEGER,
  battery_pct REAL,
  margin_db REAL,
  external_power INTEGER,
  interval_ms INTEGER,
  readings TEXT,
  readings_at INTEGER,
  warnings TEXT,
  errors TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS device_gateways (
  dev_eui TEXT NOT NULL,
  gateway_id TEXT NOT NULL,
  last_seen INTEGER NOT NULL,
  rssi REAL NOT NULL,
  snr REAL NOT NULL,
  uplinks INTEGER NOT NULL,
  PRIMARY KEY (dev_eui, gateway_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS gateways (
  gateway_id TEXT PRIMARY KEY,
  last_seen INTEGER NOT NULL,
  uplinks INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS readings (
  id INTEGER PRIMARY KEY,
  dev_eui TEXT NOT NULL,
  time INTEGER NOT NULL,
  "values" TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS readings_device_time ON readings (dev_eui, time);
CREATE INDEX IF NOT EXISTS readings_time ON readings (time);
CREATE TABLE IF NOT EXISTS frames (
  log_id INTEGER PRIMARY KEY,
  dev_eui TEXT NOT NULL,
  uplink_id TEXT NOT NULL,
  time INTEGER NOT NULL,
  rx_at INTEGER NOT NULL,
  fcnt INTEGER NOT NULL,
  fport INTEGER NOT NULL,
  dr INTEGER NOT NULL,
  sf INTEGER,
  frequency INTEGER,
  payload BLOB NOT NULL,
  gateways TEXT NOT NULL,
  model TEXT,
  readings TEXT NOT NULL,
  warnings TEXT NOT NULL,
  errors TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS frames_device ON frames (dev_eui, log_id);
CREATE TABLE IF NOT EXISTS alarms (
  id INTEGER PRIMARY KEY,
  dev_eui TEXT NOT NULL,
  kind TEXT NOT NULL,
  raised_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  cleared_at INTEGER,
  acked_at INTEGER,
  acked_by TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS alarms_active ON alarms (dev_eui, kind) WHERE cleared_at IS NULL;
CREATE INDEX IF NOT EXISTS alarms_open ON alarms (acked_at, cleared_at);
CREATE INDEX IF NOT EXISTS alarms_device ON alarms (dev_eui, raised_at);
`;
