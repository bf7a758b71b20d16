/**
 * Daily shapes shared by the behaviour models: when people throw things away, draw water and
 * drive. Hours are local to the simulated city (UTC offset from the fleet file).
 */

/** A smooth bump centred at `centre` hours with `width` hours standard deviation, wrapping at 24. */
function bump(hour: number, centre: number, width: number): number {
  let d = Math.abs(hour - centre);
  if (d > 12) d = 24 - d;
  return Math.exp(-(d * d) / (2 * width * width));
}

/** Relative rate of waste drop-off: low at night, high through the day (mean ≈ 1). */
export function wasteProfile(hour: number): number {
  return 0.15 + 1.1 * bump(hour, 11, 2.5) + 1.2 * bump(hour, 18, 2.2);
}

/** Household water draw: morning and evening peaks, a trickle at night (mean ≈ 1). */
export function waterProfile(hour: number): number {
  return 0.1 + 2.0 * bump(hour, 7.5, 1.2) + 0.6 * bump(hour, 12.5, 1.5) + 1.6 * bump(hour, 19.5, 1.6);
}

/** Road traffic intensity 0..~1: rush hours on weekdays, a flat midday hump at weekends. */
export function trafficProfile(hour: number, weekend: boolean): number {
  if (weekend) return 0.1 + 0.5 * bump(hour, 14, 3.5);
  return 0.08 + 0.9 * bump(hour, 8, 1.3) + 0.3 * bump(hour, 13, 2) + 0.85 * bump(hour, 17.5, 1.6);
}

/** Outdoor air temperature in °C: a diurnal sine around a daily mean, coolest before dawn. */
export function airTemperature(hour: number, dailyMean: number, amplitude: number): number {
  return dailyMean + amplitude * Math.sin((2 * Math.PI * (hour - 9)) / 24);
}

export function localHour(timeMs: number, utcOffsetHours: number): number {
  const h = (timeMs / 3_600_000 + utcOffsetHours) % 24;
  return h < 0 ? h + 24 : h;
}

export function isWeekend(timeMs: number, utcOffsetHours: number): boolean {
  const day = new Date(timeMs + utcOffsetHours * 3_600_000).getUTCDay();
  return day === 0 || day === 6;
}
