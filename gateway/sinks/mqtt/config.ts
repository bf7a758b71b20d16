/** Config of a `mqtt` sink entry, checked with the gateway config's Checker (problems name the key). */
import type { Checker } from '../../config.ts';
import type { MqttSinkConfig } from './mqtt-sink.ts';

export function checkMqttSink(c: Checker, raw: Record<string, unknown>, i: number, name: string, gatewayName: string): MqttSinkConfig {
  const p = `sinks[${i}].`;
  c.known(raw, p, ['type', 'name', 'schema', 'url', 'username', 'password', 'client_id', 'topic_prefix', 'application_id', 'application_name', 'batch_records', 'reconnect_ms']);
  const url = c.str(raw, 'url', p);
  if (url === undefined) c.add(`${p}url`, 'E_CONFIG_REQUIRED', 'required (e.g. mqtt://127.0.0.1:1883)');
  else if (!/^(mqtts?|wss?|tcp|ssl):\/\//.test(url)) c.add(`${p}url`, 'E_CONFIG_VALUE', 'must start with mqtt://, mqtts://, ws:// or wss://');
  const username = c.str(raw, 'username', p);
  const password = c.str(raw, 'password', p);
  const applicationId = c.str(raw, 'application_id', p, 'edge') as string;
  return {
    type: 'mqtt',
    name,
    url: url ?? '',
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    client_id: c.str(raw, 'client_id', p, `lorawan-edge-${gatewayName}-${name}`) as string,
    topic_prefix: c.str(raw, 'topic_prefix', p, 'application') as string,
    application_id: applicationId,
    application_name: c.str(raw, 'application_name', p, applicationId) as string,
    batch_records: c.int(raw, 'batch_records', p, 500, 1, 100_000),
    reconnect_ms: c.int(raw, 'reconnect_ms', p, 1000, 100, 600_000),
  };
}
