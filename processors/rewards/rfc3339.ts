// RFC 3339 timestamps (section 5.6 "date-time"): full date, 'T', full time with a mandatory
// offset (Z or ±hh:mm), optional fraction. Stricter than JSON Schema's "date-time" in one way:
// RFC 9557 suffixes ("[Europe/Paris]") are not RFC 3339 and are rejected.

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

function isLeapYear (year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
}

/** Milliseconds since the epoch of an RFC 3339 date-time, or undefined when `text` is not one.
 *  Fractions beyond milliseconds are truncated; a leap second (:60, which must fall on 23:59:60
 *  UTC) counts as the first millisecond range of the next minute, as the POSIX clock has it. */
export function parseRfc3339 (text: string): number | undefined {
  const m = DATE_TIME.exec(text)
  if (m === null) return undefined
  const year = Number(m[1])
  const month = Number(m[2])
  const day = Number(m[3])
  const hour = Number(m[4])
  const minute = Number(m[5])
  const second = Number(m[6])
  if (month < 1 || month > 12 || day < 1) return undefined
  const maxDay = month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1]!
  if (day > maxDay || hour > 23 || minute > 59 || second > 60) return undefined
  let offsetMinutes = 0
  if (m[9] !== undefined) {
    const offsetHour = Number(m[10])
    const offsetMinute = Number(m[11])
    if (offsetHour > 23 || offsetMinute > 59) return undefined
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (offsetHour * 60 + offsetMinute)
  }
  if (second === 60) {
    const utcMinuteOfDay = (((hour * 60 + minute - offsetMinutes) % 1440) + 1440) % 1440
    if (utcMinuteOfDay !== 1439) return undefined
  }
  const fractionMs = m[7] === undefined ? 0 : Number(m[7].slice(1, 4).padEnd(3, '0'))
  // Date.UTC maps years 0-99 to 1900-1999; setUTCFullYear does not.
  // (The leap second is added afterwards so that no field rolls over before the year is set.)
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, Math.min(second, 59), fractionMs))
  date.setUTCFullYear(year)
  return date.getTime() + (second === 60 ? 1000 : 0) - offsetMinutes * 60_000
}

export function isRfc3339 (text: string): boolean {
  return parseRfc3339(text) !== undefined
}
