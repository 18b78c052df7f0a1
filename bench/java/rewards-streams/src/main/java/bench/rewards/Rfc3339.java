package bench.rewards;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** processors/rewards/rfc3339.ts, and Date.prototype.toISOString. */
final class Rfc3339 {
  private Rfc3339() { }

  private static final Pattern DATE_TIME = Pattern.compile(
      "(\\d{4})-(\\d{2})-(\\d{2})[Tt](\\d{2}):(\\d{2}):(\\d{2})(\\.\\d+)?(?:([Zz])|([+-])(\\d{2}):(\\d{2}))");
  private static final int[] DAYS_IN_MONTH = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  private static final DateTimeFormatter ISO = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

  private static boolean isLeapYear(int year) {
    return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
  }

  /** ms since the epoch, or null when not an RFC 3339 date-time. */
  static Long parse(String text) {
    // JS `\d` is ASCII only, as Java's; `$` without the m flag matches only at the end: matches().
    Matcher m = DATE_TIME.matcher(text);
    if (!m.matches()) return null;
    int year = Integer.parseInt(m.group(1));
    int month = Integer.parseInt(m.group(2));
    int day = Integer.parseInt(m.group(3));
    int hour = Integer.parseInt(m.group(4));
    int minute = Integer.parseInt(m.group(5));
    int second = Integer.parseInt(m.group(6));
    if (month < 1 || month > 12 || day < 1) return null;
    int maxDay = month == 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1];
    if (day > maxDay || hour > 23 || minute > 59 || second > 60) return null;
    int offsetMinutes = 0;
    if (m.group(9) != null) {
      int offsetHour = Integer.parseInt(m.group(10));
      int offsetMinute = Integer.parseInt(m.group(11));
      if (offsetHour > 23 || offsetMinute > 59) return null;
      offsetMinutes = ("-".equals(m.group(9)) ? -1 : 1) * (offsetHour * 60 + offsetMinute);
    }
    if (second == 60) {
      int utcMinuteOfDay = (((hour * 60 + minute - offsetMinutes) % 1440) + 1440) % 1440;
      if (utcMinuteOfDay != 1439) return null;
    }
    int fractionMs = 0;
    if (m.group(7) != null) {
      String f = m.group(7).substring(1);
      f = f.length() > 3 ? f.substring(0, 3) : (f + "000").substring(0, 3);
      fractionMs = Integer.parseInt(f);
    }
    long base = LocalDateTime.of(year, month, day, hour, minute, Math.min(second, 59)).toEpochSecond(ZoneOffset.UTC) * 1000L + fractionMs;
    return base + (second == 60 ? 1000 : 0) - offsetMinutes * 60_000L;
  }

  /** new Date(ms).toISOString() for years 0000–9999. */
  static String iso(long ms) {
    return ISO.format(Instant.ofEpochMilli(ms));
  }
}
