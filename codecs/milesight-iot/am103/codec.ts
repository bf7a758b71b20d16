/**
 * Milesight AM103 indoor CO2 / temperature / humidity sensor, fPort 85: the AM family's records
 * (../am-air.ts) — `01 75` battery, `03 67` temperature, `04 68` humidity, `07 7D` CO2, with the
 * keys of TTN's am103-codec.yaml. The AM103 has no PIR, light, TVOC, pressure or particle sensor;
 * the family's other records still decode (as TTN's decoders do), the device side sends only
 * what it measures. Its history layout is not the AM319's and is not decoded.
 */
import { amAirCodec } from '../am-air.ts';

export const codec = amAirCodec({
  id: 'milesight-iot/am103',
  name: 'Milesight AM103',
  model: 'AM103',
  ttnPirKey: 'pir',
  ttnPm25Key: 'pm2_5',
  readings: ['battery_pct', 'temperature_c', 'humidity_pct', 'co2_ppm'],
  am319History: false,
});
