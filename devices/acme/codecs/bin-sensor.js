// ACME BS-1 ultrasonic bin sensor: a codec in The Things Network's style (global functions,
// ES5), as a vendor would ship it. It runs unmodified in the QuickJS sandbox
// (codecs/sandbox/); lorawan-edge code never imports it. Frame layouts: ../bin-sensor.yaml.
var MEASUREMENT_PORT = 1;
var ALARM_PORT = 2;
var CONFIG_PORT = 3;
var ALARM_NAMES = ['none', 'full', 'fire', 'tilt'];

function u16(bytes, i) {
  return (bytes[i] << 8) | bytes[i + 1];
}

function i8(b) {
  return b > 0x7f ? b - 0x100 : b;
}

function decodeMeasurement(bytes) {
  if (bytes.length !== 7) {
    return { errors: ['expected 7 bytes on fPort 1, got ' + bytes.length] };
  }
  if (bytes[0] !== 0x01) {
    return { errors: ['unsupported frame version ' + bytes[0]] };
  }
  var data = {
    distance: u16(bytes, 1),
    temperature: i8(bytes[3]),
    battery: u16(bytes, 4) / 1000,
    full: (bytes[6] & 0x01) !== 0,
    fire: (bytes[6] & 0x02) !== 0,
    tilt: (bytes[6] & 0x04) !== 0,
  };
  var warnings = [];
  if (data.distance === 0xffff) {
    // The transducer saw no echo: report the frame, but no distance.
    delete data.distance;
    warnings.push('no echo: distance unknown');
  }
  if (data.battery < 3.0) {
    warnings.push('low battery');
  }
  return { data: data, warnings: warnings };
}

function decodeAlarm(bytes) {
  if (bytes.length !== 4) {
    return { errors: ['expected 4 bytes on fPort 2, got ' + bytes.length] };
  }
  var name = ALARM_NAMES[bytes[0]];
  if (name === undefined || name === 'none') {
    return { errors: ['unknown alarm type ' + bytes[0]] };
  }
  return { data: { alarm: name, distance: u16(bytes, 1), temperature: i8(bytes[3]) } };
}

function decodeUplink(input) {
  switch (input.fPort) {
    case MEASUREMENT_PORT:
      return decodeMeasurement(input.bytes);
    case ALARM_PORT:
      return decodeAlarm(input.bytes);
    default:
      return { errors: ['unknown FPort ' + input.fPort] };
  }
}

// The bin's inside temperature is the only quantity TTN's normalized payload has a field for.
function normalizeUplink(input) {
  if (typeof input.data.temperature !== 'number') {
    return { data: [] };
  }
  return { data: { air: { temperature: input.data.temperature } } };
}

function encodeDownlink(input) {
  var minutes = input.data.reporting_interval_minutes;
  if (typeof minutes !== 'number' || minutes % 1 !== 0 || minutes < 5 || minutes > 1440) {
    return { errors: ['reporting_interval_minutes must be an integer 5..1440'] };
  }
  return { fPort: CONFIG_PORT, bytes: [0x01, (minutes >> 8) & 0xff, minutes & 0xff] };
}

function decodeDownlink(input) {
  if (input.fPort !== CONFIG_PORT || input.bytes.length !== 3 || input.bytes[0] !== 0x01) {
    return { errors: ['unknown downlink'] };
  }
  return { data: { reporting_interval_minutes: u16(input.bytes, 1) } };
}
