/**
 * Milesight AM307 indoor air-quality sensor (temperature, humidity, PIR, light level, CO2, TVOC,
 * pressure), fPort 85: the AM300 family's records (../am-air.ts). TTN's am307.js is the same
 * decoder as am319.js with two key names: `pir` (not `activity`) and `pm2_5` (not `pm2.5`).
 */
import { amAirCodec } from '../am-air.ts';

export const codec = amAirCodec({
  id: 'milesight-iot/am307',
  name: 'Milesight AM307',
  model: 'AM307',
  ttnPirKey: 'pir',
  ttnPm25Key: 'pm2_5',
  // The AM307 measures no particles and no gas beyond CO2/TVOC; its history layout
  // is not the AM319's and is not decoded.
  readings: ['battery_pct', 'temperature_c', 'humidity_pct', 'occupied', 'light_level', 'co2_ppm', 'tvoc_iaq', 'tvoc_ugm3', 'pressure_hpa'],
  am319History: false,
});
