/**
 * Milesight AM319 indoor air-quality sensor (HCHO or O3 variant), fPort 85: the AM300 family's
 * records (../am-air.ts). TTN's am319.js names the PIR record `activity` and PM2.5 `pm2.5`.
 */
import { amAirCodec } from '../am-air.ts';

export const codec = amAirCodec({
  id: 'milesight-iot/am319',
  name: 'Milesight AM319',
  model: 'AM319',
  ttnPirKey: 'activity',
  ttnPm25Key: 'pm2.5',
  am319History: true,
});
