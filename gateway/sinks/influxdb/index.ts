// The InfluxDB sink's public surface. See README.md for the configuration keys.
export { InfluxSink, InfluxSinkStoppedError, SinkClosedError, stderrLogger } from './sink.ts';
export type { InfluxSinkOptions, InfluxSinkStats, SinkLogger, SinkState, WriteOutcome } from './sink.ts';
export { INFLUX_SINK_DEFAULTS, InfluxSinkConfigError, describeTarget, resolveInfluxSinkConfig } from './config.ts';
export type { InfluxSinkConfig, InfluxSinkConfigInput } from './config.ts';
export { InfluxNetworkError, InfluxWriteClient, parseRetryAfter } from './client.ts';
export type { Credentials, PreparedBody, WriteResponse } from './client.ts';
export { encodePoint, encodePoints, integer, normalizedName, normalizedString, tagSet } from './line-protocol.ts';
export type { EncodeResult, FieldValue, IntegerValue, Point, RejectedPoint, Tags } from './line-protocol.ts';
export { analyzeRejection, classifyResponse } from './responses.ts';
export type { DeadLetterRecord } from './dead-letter.ts';
