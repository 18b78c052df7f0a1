package bench.rewards;

import com.fasterxml.jackson.databind.JsonNode;

/** A member's balance (schemas.ts BalanceSchema; balance.ts), written with the same key order. */
record Balance(String memberId, long earned, long reversed, long redeemed, long available, long qualifyingPoints, String tier, String lastActivityAt, long events) {
  static final long MAX_SAFE_INTEGER = 9007199254740991L;

  static Balance empty(RuleSet rules, String memberId) {
    return new Balance(memberId, 0, 0, 0, 0, 0, rules.tiers.get(0).name(), null, 0);
  }

  static Balance fromJson(JsonNode n) {
    JsonNode last = n.get("lastActivityAt");
    return new Balance(n.get("memberId").textValue(), n.get("earned").longValue(), n.get("reversed").longValue(), n.get("redeemed").longValue(),
        n.get("available").longValue(), n.get("qualifyingPoints").longValue(), n.get("tier").textValue(),
        last == null || last.isNull() ? null : last.textValue(), n.get("events").longValue());
  }

  static boolean safe(long n) {
    return n >= -MAX_SAFE_INTEGER && n <= MAX_SAFE_INTEGER;
  }

  /** withTotals: derived fields computed; null when a total is not a safe integer. */
  Balance withTotals(RuleSet rules, long earned, long reversed, long redeemed, long events, String lastActivityAt) {
    long qualifying = earned - reversed;
    long available = qualifying - redeemed;
    for (long n : new long[] {earned, reversed, redeemed, qualifying, available}) if (!safe(n)) return null;
    return new Balance(memberId, earned, reversed, redeemed, available, qualifying, rules.tierFor(qualifying).name(), lastActivityAt, events);
  }

  /** laterActivity: the later of lastActivityAt and an event time, as toISOString. */
  String laterActivity(long eventTimeMs) {
    if (lastActivityAt != null && Rfc3339.parse(lastActivityAt) >= eventTimeMs) return lastActivityAt;
    return Rfc3339.iso(eventTimeMs);
  }

  void write(StringBuilder out) {
    out.append("{\"memberId\":");
    JsonText.quote(out, memberId);
    out.append(",\"earned\":").append(earned)
        .append(",\"reversed\":").append(reversed)
        .append(",\"redeemed\":").append(redeemed)
        .append(",\"available\":").append(available)
        .append(",\"qualifyingPoints\":").append(qualifyingPoints)
        .append(",\"tier\":");
    JsonText.quote(out, tier);
    out.append(",\"lastActivityAt\":");
    if (lastActivityAt == null) out.append("null");
    else JsonText.quote(out, lastActivityAt);
    out.append(",\"events\":").append(events).append('}');
  }

  String toJson() {
    StringBuilder out = new StringBuilder(200);
    write(out);
    return out.toString();
  }
}
