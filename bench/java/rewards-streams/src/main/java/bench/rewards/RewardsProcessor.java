package bench.rewards;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/** The rewards processor (processors/rewards/ledger.ts with earn.ts, reversal.ts,
 *  redemption.ts, dedupe.ts, dedupe-clock.ts, activity.ts, confirm-reward.ts, dlq.ts): both inputs,
 *  one record at a time in event-time order, six changelogged stores of JSON text written exactly as
 *  the project writes them. Outputs: a confirmation, nothing (a duplicate), or the unchanged input
 *  to the dead-letter topic with the reason in headers. */
final class RewardsProcessor implements Processor<byte[], byte[], Object, Object> {
  static final String REWARD_CONFIRMED_SINK = "reward-confirmed-sink";
  static final String REDEEM_CONFIRMED_SINK = "redeem-confirmed-sink";
  static final String REWARD_DLQ_SINK = "reward-events-dlq-sink";
  static final String REDEEM_DLQ_SINK = "redeem-events-dlq-sink";

  static final String BALANCES = "balances";
  static final String EVENT_DEDUPE = "event-dedupe";
  static final String REDEMPTION_DEDUPE = "redemption-dedupe";
  static final String REDEMPTION_INDEX = "redemption-index";
  static final String DEDUPE_EXPIRY = "dedupe-expiry";
  static final String ACTIVITY = "activity";
  static final List<String> STORES = List.of(BALANCES, EVENT_DEDUPE, REDEMPTION_DEDUPE, REDEMPTION_INDEX, DEDUPE_EXPIRY, ACTIVITY);

  /** REWARDS_DEFAULTS of rewards-topology.ts. */
  static final long DAY_MS = 24L * 60 * 60 * 1000;
  static final long DEDUPE_RETENTION_MS = 90 * DAY_MS;
  static final long PURGE_INTERVAL_MS = 60_000;
  static final int MAX_PURGE_PER_PUNCTUATION = 10_000;
  static final int ACTIVITY_LIMIT_PER_MEMBER = 100;
  static final long MAX_EVENT_TIME_AHEAD_MS = DAY_MS;

  static final String DEDUPE_CLOCK_KEY = "clock";
  private static final String LAST_TIME_KEY = "999999999999999;";
  private static final long MAX_SEQ = 999_999_999_999L;

  private final RuleSet rules;
  private final String rewardTopic;
  private final String redeemTopic;
  private ProcessorContext<Object, Object> context;
  private KeyValueStore<String, String> balances;
  private KeyValueStore<String, String> events;
  private KeyValueStore<String, String> redemptions;
  private KeyValueStore<String, String> redemptionIndex;
  private KeyValueStore<String, String> expiry;
  private KeyValueStore<String, String> activity;
  /** The dedupe clock of the record being handled (at()). */
  private long recordClockMs = -1;
  private final MessageDigest sha256;

  /** Where a forwarded record goes: the DSL's process() has one child (the split by route in
   *  RewardsStreamsMain), so each record carries its route. */
  record Routed(String route, Object value) { }

  /** The route of the accepted reward decisions for the points windows (ledger.ts `points-issued`):
   *  key propertyId, value the JSON of IssuedPoints ({type, points}, as Serdes.json writes it). */
  static final String POINTS_ISSUED = "points-issued";

  /** What a handler decided: a confirmation (memberId, JSON, signed points), a duplicate, or a refusal. */
  private record Outcome(String memberId, String json, String code, String message, long points) {
    static final Outcome DUPLICATE = new Outcome(null, null, null, null, 0);
    static Outcome accepted(String memberId, String json, long points) { return new Outcome(memberId, json, null, null, points); }
    static Outcome rejected(String code, String message) { return new Outcome(null, null, code, message, 0); }
  }

  RewardsProcessor(RuleSet rules, String rewardTopic, String redeemTopic) {
    this.rules = rules;
    this.rewardTopic = rewardTopic;
    this.redeemTopic = redeemTopic;
    try {
      this.sha256 = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void init(ProcessorContext<Object, Object> context) {
    this.context = context;
    balances = context.getStateStore(BALANCES);
    events = context.getStateStore(EVENT_DEDUPE);
    redemptions = context.getStateStore(REDEMPTION_DEDUPE);
    redemptionIndex = context.getStateStore(REDEMPTION_INDEX);
    expiry = context.getStateStore(DEDUPE_EXPIRY);
    activity = context.getStateStore(ACTIVITY);
    // Stream time says when to look; what is expired is decided by the dedupe clock.
    context.schedule(Duration.ofMillis(PURGE_INTERVAL_MS), PunctuationType.STREAM_TIME,
        ts -> purgeExpired(currentClock(), DEDUPE_RETENTION_MS, MAX_PURGE_PER_PUNCTUATION));
  }

  @Override
  public void process(Record<byte[], byte[]> record) {
    String topic = context.recordMetadata().map(RecordMetadata::topic).orElse(null);
    if (rewardTopic.equals(topic)) {
      Validation.Validated v = Validation.validateRewardRecord(record.key(), record.value());
      if (!v.ok()) { deadLetter(record, REWARD_DLQ_SINK, v.code(), v.message()); return; }
      recordClockMs = clockAt(v.eventTimeMs());
      String type = v.json().get("type").textValue();
      Outcome outcome = "EARN".equals(type) ? earn(v.json(), v.eventTimeMs()) : reversal(v.json(), v.eventTimeMs());
      emit(record, outcome, REWARD_CONFIRMED_SINK, REWARD_DLQ_SINK);
      if (outcome != Outcome.DUPLICATE && outcome.code() == null) {
        // The points windows' input: keyed by propertyId, with the input's headers and event time.
        String issued = "{\"type\":\"" + type + "\",\"points\":" + outcome.points() + "}";
        context.forward(new Record<Object, Object>(v.json().get("propertyId").textValue(), new Routed(POINTS_ISSUED, issued), record.timestamp(), record.headers()));
      }
    } else if (redeemTopic.equals(topic)) {
      Validation.Validated v = Validation.validateRedeemRecord(record.key(), record.value());
      if (!v.ok()) { deadLetter(record, REDEEM_DLQ_SINK, v.code(), v.message()); return; }
      recordClockMs = clockAt(v.eventTimeMs());
      emit(record, redemption(v.json(), v.eventTimeMs()), REDEEM_CONFIRMED_SINK, REDEEM_DLQ_SINK);
    } else {
      throw new IllegalStateException("record from unexpected topic " + topic);
    }
  }

  private void emit(Record<byte[], byte[]> record, Outcome outcome, String sink, String dlqSink) {
    if (outcome == Outcome.DUPLICATE) return;
    if (outcome.code() != null) { deadLetter(record, dlqSink, outcome.code(), outcome.message()); return; }
    advanceClock(recordClockMs);
    // Input headers (traceparent…) travel on with the confirmation; the timestamp is the event time.
    context.forward(new Record<Object, Object>(outcome.memberId(), new Routed(sink, outcome.json()), record.timestamp(), record.headers()));
  }

  /** dlq.ts: the input unchanged, its headers plus error.code, error.message, source.topic,
   *  source.partition, source.offset (UTF-8 text), as the project's header object orders them. */
  private void deadLetter(Record<byte[], byte[]> record, String sink, String code, String message) {
    Map<String, byte[]> headers = new LinkedHashMap<>();
    for (Header h : record.headers()) headers.put(h.key(), h.value());
    headers.put("error.code", code.getBytes(StandardCharsets.UTF_8));
    headers.put("error.message", message.getBytes(StandardCharsets.UTF_8));
    context.recordMetadata().ifPresent(m -> {
      headers.put("source.topic", m.topic().getBytes(StandardCharsets.UTF_8));
      headers.put("source.partition", String.valueOf(m.partition()).getBytes(StandardCharsets.UTF_8));
      headers.put("source.offset", String.valueOf(m.offset()).getBytes(StandardCharsets.UTF_8));
    });
    Headers out = new RecordHeaders();
    headers.forEach(out::add);
    context.forward(new Record<Object, Object>(record.key(), new Routed(sink, record.value()), record.timestamp(), out));
  }

  // --- dedupe clock (dedupe-clock.ts) ---------------------------------------------------------

  private long currentClock() {
    String stored = expiry.get(DEDUPE_CLOCK_KEY);
    if (stored != null) return Long.parseLong(stored);
    try (KeyValueIterator<String, String> it = expiry.reverseRange(null, LAST_TIME_KEY)) {
      return it.hasNext() ? Long.parseLong(it.next().key.substring(0, 15)) : -1;
    }
  }

  private long clockAt(long eventTimeMs) {
    return Math.max(currentClock(), Math.min(eventTimeMs, context.currentSystemTimeMs() + MAX_EVENT_TIME_AHEAD_MS));
  }

  private void advanceClock(long clockMs) {
    String stored = expiry.get(DEDUPE_CLOCK_KEY);
    if (stored == null || clockMs > Long.parseLong(stored)) expiry.put(DEDUPE_CLOCK_KEY, String.valueOf(clockMs));
  }

  // --- dedupe (dedupe.ts) ---------------------------------------------------------------------

  private static String paddedTime(long ms) {
    String s = String.valueOf(Math.max(0, ms));
    return "0".repeat(Math.max(0, 15 - s.length())) + s;
  }

  private static String expiryKey(long seenAtMs, char kind, String memberId, String id) {
    return paddedTime(seenAtMs) + ":" + kind + ":" + memberId + ":" + id;
  }

  private static boolean isLive(JsonNode entry, long clockMs) {
    return entry != null && entry.get("seenAtMs").longValue() + DEDUPE_RETENTION_MS > clockMs;
  }

  private static JsonNode parse(String json) {
    if (json == null) return null;
    try {
      return Validation.MAPPER.readTree(json);
    } catch (Exception e) {
      throw new IllegalStateException("unreadable store value " + json, e);
    }
  }

  private int purgeExpired(long clockMs, long retentionMs, int max) {
    long cutoffMs = clockMs - retentionMs;
    if (cutoffMs < 0) return 0;
    String upper = paddedTime(cutoffMs) + ";";
    int removed = 0;
    while (removed < max) {
      List<String> batch = new ArrayList<>();
      int limit = Math.min(1000, max - removed);
      try (KeyValueIterator<String, String> it = expiry.range(null, upper)) {
        while (it.hasNext() && batch.size() < limit) {
          KeyValue<String, String> kv = it.next();
          // range() is inclusive of its upper bound; the project's is exclusive (';' sorts after every key of the cutoff).
          if (kv.key.compareTo(upper) < 0) batch.add(kv.key);
        }
      }
      if (batch.isEmpty()) break;
      for (String key : batch) {
        expiry.delete(key);
        removed++;
        if (key.length() < 18 || key.charAt(15) != ':' || (key.charAt(16) != 'E' && key.charAt(16) != 'R') || key.charAt(17) != ':') continue;
        long seenAtMs = Long.parseLong(key.substring(0, 15));
        char kind = key.charAt(16);
        String dedupeKey = key.substring(18);
        KeyValueStore<String, String> store = kind == 'E' ? events : redemptions;
        JsonNode entry = parse(store.get(dedupeKey));
        if (entry != null && entry.get("seenAtMs").longValue() == seenAtMs) {
          store.delete(dedupeKey);
          if (kind == 'R') {
            int at = dedupeKey.indexOf(':');
            redemptionIndex.delete(dedupeKey.substring(at + 1) + ":" + dedupeKey.substring(0, at));
          }
        }
      }
    }
    return removed;
  }

  private String digest(JsonNode event) {
    StringBuilder canonical = new StringBuilder();
    JsonText.canonical(canonical, event);
    byte[] hash = sha256.digest(canonical.toString().getBytes(StandardCharsets.UTF_8));
    return "sha256:" + Base64.getUrlEncoder().withoutPadding().encodeToString(hash);
  }

  private Balance balanceOf(String memberId) {
    String stored = balances.get(memberId);
    return stored == null ? Balance.empty(rules, memberId) : Balance.fromJson(parse(stored));
  }

  private String processedAt() {
    return Rfc3339.iso(context.currentSystemTimeMs());
  }

  // --- EARN and REVERSAL (earn.ts, reversal.ts, confirm-reward.ts) ----------------------------

  private Outcome earn(JsonNode event, long eventTimeMs) {
    String memberId = event.get("memberId").textValue();
    String eventId = event.get("eventId").textValue();
    String key = memberId + ":" + eventId;
    long clockMs = recordClockMs;
    if (isLive(parse(events.get(key)), clockMs)) return Outcome.DUPLICATE;

    Balance before = balanceOf(memberId);
    RuleSet.Tier tier = rules.tierFor(before.qualifyingPoints());
    String source = event.get("source").textValue();
    BigInteger bigPoints = rules.earnPoints(source, event.get("propertyId").textValue(), (long) event.get("amountCents").doubleValue(), eventTimeMs, tier);
    Balance after = null;
    long points = 0;
    if (bigPoints.bitLength() < 63 && Balance.safe(bigPoints.longValue())) {
      points = bigPoints.longValue();
      after = before.withTotals(rules, before.earned() + points, before.reversed(), before.redeemed(), before.events() + 1, before.laterActivity(eventTimeMs));
    }
    if (after == null) {
      return Outcome.rejected("POINTS_OVERFLOW", "EARN worth " + bigPoints + " points would take the balance of " + memberId + " beyond 2^53 − 1");
    }
    balances.put(memberId, after.toJson());
    StringBuilder entry = new StringBuilder("{\"type\":\"EARN\",\"points\":").append(points).append(",\"seenAtMs\":").append(clockMs).append(",\"digest\":");
    JsonText.quote(entry, digest(event));
    events.put(key, entry.append('}').toString());
    expiry.put(expiryKey(clockMs, 'E', memberId, eventId), "1");
    return confirmReward(event, points, tier, after);
  }

  private Outcome reversal(JsonNode event, long eventTimeMs) {
    String memberId = event.get("memberId").textValue();
    String eventId = event.get("eventId").textValue();
    String originalEventId = event.get("originalEventId").textValue();
    String key = memberId + ":" + eventId;
    long clockMs = recordClockMs;
    if (isLive(parse(events.get(key)), clockMs)) return Outcome.DUPLICATE;

    String originalKey = memberId + ":" + originalEventId;
    JsonNode original = parse(events.get(originalKey));
    boolean live = isLive(original, clockMs);
    if (original == null || !live || !"EARN".equals(original.get("type").textValue())) {
      String why = original != null && !"EARN".equals(original.get("type").textValue()) && live
          ? "event " + originalEventId + " of member " + memberId + " is a REVERSAL, not an EARN"
          : "no accepted EARN " + originalEventId + " for member " + memberId + " (unknown, or older than the " + DEDUPE_RETENTION_MS + " ms dedupe retention)";
      return Outcome.rejected("ORIGINAL_NOT_FOUND", why);
    }
    if (original.has("reversedBy")) {
      return Outcome.rejected("ALREADY_REVERSED", "EARN " + originalEventId + " of member " + memberId + " was already reversed by " + original.get("reversedBy").textValue());
    }
    long originalPoints = original.get("points").longValue();
    Balance before = balanceOf(memberId);
    RuleSet.Tier tier = rules.tierFor(before.qualifyingPoints());
    Balance after = before.withTotals(rules, before.earned(), before.reversed() + originalPoints, before.redeemed(), before.events() + 1, before.laterActivity(eventTimeMs));
    if (after == null) {
      return Outcome.rejected("POINTS_OVERFLOW", "REVERSAL of " + originalPoints + " points would take the balance of " + memberId + " beyond 2^53 − 1");
    }
    balances.put(memberId, after.toJson());
    ((ObjectNode) original).put("reversedBy", eventId);
    events.put(originalKey, JsonText.write(original));
    StringBuilder entry = new StringBuilder("{\"type\":\"REVERSAL\",\"points\":").append(-originalPoints).append(",\"seenAtMs\":").append(clockMs).append(",\"digest\":");
    JsonText.quote(entry, digest(event));
    events.put(key, entry.append('}').toString());
    expiry.put(expiryKey(clockMs, 'E', memberId, eventId), "1");
    return confirmReward(event, -originalPoints, tier, after);
  }

  private Outcome confirmReward(JsonNode event, long points, RuleSet.Tier tier, Balance after) {
    String memberId = event.get("memberId").textValue();
    String processedAt = processedAt();
    // The fields before and after the balance, shared by the output and the activity entry.
    StringBuilder head = new StringBuilder(160);
    head.append("\"eventId\":");
    JsonText.quote(head, event.get("eventId").textValue());
    head.append(",\"memberId\":");
    JsonText.quote(head, memberId);
    head.append(",\"source\":");
    JsonText.quote(head, event.get("source").textValue());
    head.append(",\"type\":");
    JsonText.quote(head, event.get("type").textValue());
    head.append(",\"points\":").append(points).append(",\"tier\":");
    JsonText.quote(head, tier.name());
    head.append(",\"ruleVersion\":");
    JsonText.quote(head, rules.version);
    StringBuilder tail = new StringBuilder(80);
    tail.append(",\"occurredAt\":");
    JsonText.quote(tail, event.get("occurredAt").textValue());
    tail.append(",\"processedAt\":");
    JsonText.quote(tail, processedAt);

    StringBuilder output = new StringBuilder(400).append('{').append(head).append(",\"balance\":");
    after.write(output);
    output.append(tail).append('}');
    appendActivity(memberId, "REWARD", after.available(), head, tail);
    return Outcome.accepted(memberId, output.toString(), points);
  }

  // --- redemptions (redemption.ts) ------------------------------------------------------------

  private Outcome redemption(JsonNode event, long eventTimeMs) {
    String memberId = event.get("memberId").textValue();
    String redemptionId = event.get("redemptionId").textValue();
    String key = memberId + ":" + redemptionId;
    long clockMs = recordClockMs;
    if (isLive(parse(redemptions.get(key)), clockMs)) return Outcome.DUPLICATE;

    Balance before = balanceOf(memberId);
    String processedAt = processedAt();
    long points = (long) event.get("points").doubleValue();
    Balance shown;
    boolean confirmed = before.available() >= points;
    if (confirmed) {
      Balance after = before.withTotals(rules, before.earned(), before.reversed(), before.redeemed() + points, before.events(), before.laterActivity(eventTimeMs));
      if (after == null || after.available() < 0) throw new IllegalStateException("redemption " + redemptionId + ": balance invariant broken");
      balances.put(memberId, after.toJson());
      shown = after;
    } else {
      shown = before;
    }
    StringBuilder head = new StringBuilder(160);
    head.append("\"redemptionId\":");
    JsonText.quote(head, redemptionId);
    head.append(",\"memberId\":");
    JsonText.quote(head, memberId);
    head.append(",\"points\":").append(JsonText.number(event.get("points").doubleValue())).append(",\"rewardCode\":");
    JsonText.quote(head, event.get("rewardCode").textValue());
    head.append(confirmed ? ",\"status\":\"CONFIRMED\"" : ",\"status\":\"REJECTED\",\"reason\":\"INSUFFICIENT_POINTS\"");
    StringBuilder tail = new StringBuilder(80);
    tail.append(",\"requestedAt\":");
    JsonText.quote(tail, event.get("requestedAt").textValue());
    tail.append(",\"processedAt\":");
    JsonText.quote(tail, processedAt);
    StringBuilder decision = new StringBuilder(400).append('{').append(head).append(",\"balance\":");
    shown.write(decision);
    decision.append(tail).append('}');
    String decisionJson = decision.toString();

    StringBuilder entry = new StringBuilder(decisionJson.length() + 120).append("{\"decision\":").append(decisionJson)
        .append(",\"seenAtMs\":").append(clockMs).append(",\"digest\":");
    JsonText.quote(entry, digest(event));
    redemptions.put(key, entry.append('}').toString());
    redemptionIndex.put(redemptionId + ":" + memberId, "1");
    expiry.put(expiryKey(clockMs, 'R', memberId, redemptionId), "1");
    appendActivity(memberId, "REDEMPTION", shown.available(), head, tail);
    return Outcome.accepted(memberId, decisionJson, 0);
  }

  // --- activity (activity.ts) -----------------------------------------------------------------

  private static String activityKey(String memberId, long seq) {
    String n = String.valueOf(MAX_SEQ - seq);
    return memberId + ":" + "0".repeat(Math.max(0, 12 - n.length())) + n;
  }

  /** { seq, kind, available, ...the record without its balance }; the head under `${memberId}`. */
  private void appendActivity(String memberId, String kind, long available, CharSequence head, CharSequence tail) {
    JsonNode headValue = parse(activity.get(memberId));
    long seq = (headValue == null ? 0 : headValue.get("seq").longValue()) + 1;
    StringBuilder entry = new StringBuilder(320).append("{\"seq\":").append(seq).append(",\"kind\":\"").append(kind)
        .append("\",\"available\":").append(available).append(',').append(head).append(tail).append('}');
    activity.put(activityKey(memberId, seq), entry.toString());
    activity.put(memberId, "{\"seq\":" + seq + "}");
    if (seq > ACTIVITY_LIMIT_PER_MEMBER) activity.delete(activityKey(memberId, seq - ACTIVITY_LIMIT_PER_MEMBER));
  }
}
