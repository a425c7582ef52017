// ISO 8601 durations (`P61D`, `PT90M`, `P1M`, `-P1D`) applied to an instant. Years and months
// are calendar steps from that instant (1 Jan + P1M = 1 Feb), the rest fixed lengths.

const DURATION =
  /^([+-])?P(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/i;

export class InvalidDuration extends Error {}

/** `fromMs` moved by the duration; throws InvalidDuration when `text` is not one. */
export function addDuration(fromMs: number, text: string): number {
  const m = DURATION.exec(text.trim());
  if (!m || text.endsWith('T') || !m.slice(2).some((part) => part !== undefined)) {
    throw new InvalidDuration(`'${text}' is not an ISO 8601 duration such as P61D or PT1H30M`);
  }
  const [, sign, years, months, weeks, days, hours, minutes, seconds] = m;
  const number = (part: string | undefined) => (part ? Number(part.replace(',', '.')) : 0);
  const direction = sign === '-' ? -1 : 1;
  if (!Number.isInteger(number(years)) || !Number.isInteger(number(months))) {
    throw new InvalidDuration(`'${text}': years and months must be whole numbers`);
  }
  const date = new Date(fromMs);
  date.setUTCMonth(date.getUTCMonth() + direction * (number(years) * 12 + number(months)));
  const fixedMs =
    number(weeks) * 7 * 86_400_000 + number(days) * 86_400_000 + number(hours) * 3_600_000 + number(minutes) * 60_000 + number(seconds) * 1000;
  return date.getTime() + direction * Math.round(fixedMs);
}
