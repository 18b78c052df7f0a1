package bench.rewards;

import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;

/** One window's figures of the points windows (processors/rewards/points-windows.ts,
 *  PointsWindowValue), stored as the project stores them: the JSON text
 *  {"earnEvents":…,"earnedPoints":…,"reversalEvents":…,"reversedPoints":…}. */
record PointsWindow(long earnEvents, long earnedPoints, long reversalEvents, long reversedPoints) {
  static final PointsWindow EMPTY = new PointsWindow(0, 0, 0, 0);

  /** addIssued of points-windows.ts; `issued` is the repartition record's value, the JSON text
   *  {"type":"EARN"|"REVERSAL","points":N} (N signed: negative for a reversal). */
  PointsWindow add(String issued) {
    long points = longAfter(issued, "\"points\":");
    return issued.startsWith("{\"type\":\"EARN\"")
        ? new PointsWindow(earnEvents + 1, earnedPoints + points, reversalEvents, reversedPoints)
        : new PointsWindow(earnEvents, earnedPoints, reversalEvents + 1, reversedPoints - points);
  }

  String toJson() {
    return "{\"earnEvents\":" + earnEvents + ",\"earnedPoints\":" + earnedPoints + ",\"reversalEvents\":" + reversalEvents + ",\"reversedPoints\":" + reversedPoints + "}";
  }

  static PointsWindow fromJson(String json) {
    return new PointsWindow(longAfter(json, "\"earnEvents\":"), longAfter(json, "\"earnedPoints\":"), longAfter(json, "\"reversalEvents\":"), longAfter(json, "\"reversedPoints\":"));
  }

  private static long longAfter(String json, String name) {
    int at = json.indexOf(name);
    if (at < 0) throw new IllegalArgumentException("no " + name + " in " + json);
    int i = at + name.length();
    boolean negative = json.charAt(i) == '-';
    if (negative) i++;
    long n = 0;
    for (; i < json.length() && Character.isDigit(json.charAt(i)); i++) n = n * 10 + (json.charAt(i) - '0');
    return negative ? -n : n;
  }

  static final Serde<PointsWindow> SERDE = Serdes.serdeFrom(
      (Serializer<PointsWindow>) (topic, value) -> value == null ? null : value.toJson().getBytes(StandardCharsets.UTF_8),
      (Deserializer<PointsWindow>) (topic, bytes) -> bytes == null ? null : fromJson(new String(bytes, StandardCharsets.UTF_8)));
}
