package bench.rewards;

import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** processors/rewards/validation.ts and schemas.ts: the same checks in the same order, the same
 *  dead-letter codes and (for the cases the bench input holds, and single problems generally) the
 *  same messages, TypeBox's wording included. Known differences: MALFORMED_JSON messages carry
 *  Jackson's parser text after the common prefix, not V8's; with several schema problems in one
 *  record the clauses may come in another order. */
final class Validation {
  private Validation() { }

  /** A valid event (json, event time) or a refusal (code, message). */
  record Validated(JsonNode json, long eventTimeMs, String code, String message) {
    boolean ok() { return code == null; }
  }

  record Issue(String path, String message) { }

  static final long MAX_AMOUNT_CENTS = 1_000_000_000_000L;
  static final long MAX_REDEEM_POINTS = 1_000_000_000L;
  static final long EVENT_TIME_MIN_MS = 0L;
  static final long EVENT_TIME_MAX_MS = 253402300799999L;
  static final String EVENT_TIME_TEXT = "1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z";
  private static final int MAX_MESSAGE_CHARS = 1000;
  private static final String RFC3339_MESSAGE = " must be an RFC 3339 timestamp with offset (e.g. 2026-03-01T18:30:00Z)";

  static final ObjectMapper MAPPER = JsonMapper.builder()
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .enable(StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION)
      .build();

  private static final Pattern MEMBER_ID = Pattern.compile("[A-Za-z0-9_-]{1,64}");
  private static final Pattern CURRENCY = Pattern.compile("[A-Z]{3}");

  /** One property of an object schema (schemas.ts), in declaration order. */
  private record Prop(String name, Kind kind, long min, long max, Pattern pattern, String patternText, List<String> literals) { }

  private enum Kind { STRING, INTEGER, LITERALS, DATE_TIME }

  private static Prop str(String name, long min, long max) { return new Prop(name, Kind.STRING, min, max, null, null, null); }
  private static Prop memberId() { return new Prop("memberId", Kind.STRING, 1, 64, MEMBER_ID, "^[A-Za-z0-9_-]{1,64}$", null); }
  private static Prop integer(String name, long min, long max) { return new Prop(name, Kind.INTEGER, min, max, null, null, null); }
  private static Prop literals(String name, String... values) { return new Prop(name, Kind.LITERALS, 0, 0, null, null, List.of(values)); }
  private static Prop dateTime(String name) { return new Prop(name, Kind.DATE_TIME, 0, 0, null, null, null); }

  private static final List<Prop> REWARD_FIELDS = List.of(
      str("eventId", 1, 128), memberId(), literals("source", "HOTEL", "CASINO", "DINING"),
      integer("amountCents", 0, MAX_AMOUNT_CENTS),
      new Prop("currency", Kind.STRING, 0, Long.MAX_VALUE, CURRENCY, "^[A-Z]{3}$", null),
      dateTime("occurredAt"), str("propertyId", 1, 64));
  private static final List<Prop> EARN = concat(REWARD_FIELDS, literals("type", "EARN"));
  private static final List<Prop> REVERSAL = concat(REWARD_FIELDS, literals("type", "REVERSAL"), str("originalEventId", 1, 128));
  private static final List<Prop> REDEEM = List.of(
      str("redemptionId", 1, 128), memberId(), integer("points", 1, MAX_REDEEM_POINTS), str("rewardCode", 1, 64),
      literals("channel", "HOTEL", "CASINO", "DINING", "ONLINE"), dateTime("requestedAt"));

  private static List<Prop> concat(List<Prop> base, Prop... more) {
    List<Prop> out = new ArrayList<>(base);
    out.addAll(List.of(more));
    return List.copyOf(out);
  }

  static Validated fail(String code, String message) {
    String m = message.length() > MAX_MESSAGE_CHARS ? message.substring(0, MAX_MESSAGE_CHARS - 1) + "…" : message;
    return new Validated(null, 0, code, m);
  }

  // --- decoding -------------------------------------------------------------------------------

  /** TextDecoder('utf-8', { fatal: true }): strict, and a leading BOM is dropped. */
  static String utf8(byte[] bytes) throws CharacterCodingException {
    String text = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT)
        .decode(ByteBuffer.wrap(bytes)).toString();
    return text.startsWith("\uFEFF") ? text.substring(1) : text;
  }

  static Validated validateRewardRecord(byte[] key, byte[] value) { return validateRecord(key, value, true); }

  static Validated validateRedeemRecord(byte[] key, byte[] value) { return validateRecord(key, value, false); }

  private static Validated validateRecord(byte[] key, byte[] value, boolean reward) {
    if (value == null) return fail("MALFORMED_JSON", "record has no value (null / tombstone)");
    String text;
    try {
      text = utf8(value);
    } catch (CharacterCodingException e) {
      return fail("MALFORMED_JSON", "record value is not valid UTF-8");
    }
    JsonNode json;
    try {
      json = MAPPER.readTree(text);
      if (json == null || json.isMissingNode()) throw new IllegalArgumentException("Unexpected end of JSON input");
    } catch (Exception e) {
      String first = String.valueOf(e.getMessage()).split("\n", 2)[0];
      return fail("MALFORMED_JSON", "record value is not valid JSON: " + first);
    }
    String keyText = null;
    String keyProblem = null;
    if (key == null) {
      keyProblem = "record has no key; the key must equal memberId";
    } else {
      try {
        keyText = utf8(key);
      } catch (CharacterCodingException e) {
        keyProblem = "record key is not valid UTF-8; the key must equal memberId";
      }
    }
    if (keyProblem != null) {
      // Schema problems are reported before key problems: validate without the key first.
      Validated withoutKey = reward ? validateRewardEvent(json, null) : validateRedeemEvent(json, null);
      return !withoutKey.ok() && "SCHEMA_VIOLATION".equals(withoutKey.code()) ? withoutKey : fail("KEY_MISMATCH", keyProblem);
    }
    return reward ? validateRewardEvent(json, keyText) : validateRedeemEvent(json, keyText);
  }

  // --- events ---------------------------------------------------------------------------------

  private static Validated notAnObject(JsonNode value) {
    String got = value.isNull() ? "null" : value.isArray() ? "an array" : value.isTextual() ? "string" : value.isNumber() ? "number" : "boolean";
    return fail("SCHEMA_VIOLATION", "record must be a JSON object, got " + got);
  }

  static Validated validateRewardEvent(JsonNode value, String key) {
    if (!value.isObject()) return notAnObject(value);
    JsonNode typeNode = value.get("type");
    String type = typeNode != null && typeNode.isTextual() ? typeNode.textValue() : null;
    List<Issue> schema = new ArrayList<>();
    if (!"EARN".equals(type) && !"REVERSAL".equals(type)) {
      schema.add(new Issue("/type", "type must be one of EARN, REVERSAL"));
      for (Issue i : schemaIssues(value, EARN)) if (!i.path().equals("/type")) schema.add(i);
    } else if ("EARN".equals(type) && value.has("originalEventId")) {
      schema.add(new Issue("/originalEventId", "originalEventId is allowed only on a REVERSAL"));
      JsonNode rest = value.deepCopy();
      ((com.fasterxml.jackson.databind.node.ObjectNode) rest).remove("originalEventId");
      schema.addAll(schemaIssues(rest, EARN));
    } else {
      schema.addAll(schemaIssues(value, "EARN".equals(type) ? EARN : REVERSAL));
    }
    return finish(value, schema, "occurredAt", key, true);
  }

  static Validated validateRedeemEvent(JsonNode value, String key) {
    if (!value.isObject()) return notAnObject(value);
    return finish(value, schemaIssues(value, REDEEM), "requestedAt", key, false);
  }

  private static Validated finish(JsonNode value, List<Issue> schema, String timeField, String key, boolean reward) {
    List<Issue> issues = new ArrayList<>(schema);
    unsafeStrings(value, "", issues);
    Long eventTimeMs = null;
    JsonNode time = value.get(timeField);
    boolean faulted = issues.stream().anyMatch(i -> i.path().equals("/" + timeField));
    if (time != null && time.isTextual() && !faulted) {
      Long ms = Rfc3339.parse(time.textValue());
      if (ms == null) issues.add(new Issue("/" + timeField, timeField + RFC3339_MESSAGE));
      else if (ms < EVENT_TIME_MIN_MS || ms > EVENT_TIME_MAX_MS) issues.add(new Issue("/" + timeField, timeField + " must be within " + EVENT_TIME_TEXT));
      else eventTimeMs = ms;
    }
    if (!issues.isEmpty() || eventTimeMs == null) {
      List<String> messages = new ArrayList<>();
      for (Issue i : issues) messages.add(i.message());
      return fail("SCHEMA_VIOLATION", String.join("; ", messages));
    }
    String memberId = value.get("memberId").textValue();
    if (key != null && !key.equals(memberId)) {
      return fail("KEY_MISMATCH", "record key " + JsonText.quote(key) + " does not equal memberId " + JsonText.quote(memberId));
    }
    if (reward) {
      String currency = value.get("currency").textValue();
      if (!currency.equals("USD")) return fail("UNSUPPORTED_CURRENCY", "currency " + currency + " is not supported (supported: USD)");
    }
    return new Validated(value, eventTimeMs, null, null);
  }

  // --- schema (TypeBox's errors, then schemaIssues of validation.ts) ----------------------------

  private static String fieldName(String path) {
    return path.isEmpty() ? "record" : SafeText.printable(path.substring(1).replace("/", "."));
  }

  /** The issues of validation.ts schemaIssues for a flat object schema: missing fields (one clause),
   *  unknown fields (one clause), then each present field's problems in declaration order. */
  static List<Issue> schemaIssues(JsonNode value, List<Prop> props) {
    List<String> missing = new ArrayList<>();
    for (Prop p : props) if (!value.has(p.name())) missing.add(p.name());
    List<Issue> issues = new ArrayList<>();
    if (!missing.isEmpty()) {
      issues.add(new Issue("/" + missing.get(0), "missing required field" + (missing.size() > 1 ? "s " : " ") + String.join(", ", missing)));
    }
    List<String> unknown = new ArrayList<>();
    Iterator<String> names = value.fieldNames();
    while (names.hasNext()) {
      String name = names.next();
      if (props.stream().noneMatch(p -> p.name().equals(name))) unknown.add(SafeText.printable(name));
    }
    if (!unknown.isEmpty()) {
      issues.add(new Issue("/" + unknown.get(0), "unknown field" + (unknown.size() > 1 ? "s " : " ") + String.join(", ", unknown)));
    }
    for (Prop p : props) {
      JsonNode v = value.get(p.name());
      if (v == null) continue;
      String path = "/" + p.name();
      String field = fieldName(path);
      String problem = propertyProblem(p, v, field);
      if (problem != null) issues.add(new Issue(path, problem));
    }
    return issues;
  }

  private static String propertyProblem(Prop p, JsonNode v, String field) {
    switch (p.kind()) {
      case LITERALS: {
        if (v.isTextual() && p.literals().contains(v.textValue())) return null;
        return p.literals().size() == 1 ? field + " must be " + JsonText.quote(p.literals().get(0)) : field + " must be one of " + String.join(", ", p.literals());
      }
      case INTEGER: {
        if (!v.isNumber()) return field + " must be integer";
        double d = v.doubleValue();
        if (Double.isInfinite(d) || d != Math.rint(d)) return field + " must be integer";
        if (d < p.min()) return field + " must be >= " + p.min();
        if (d > p.max()) return field + " must be <= " + p.max();
        return null;
      }
      case DATE_TIME: {
        if (!v.isTextual()) return field + " must be string";
        return Rfc3339.parse(v.textValue()) == null ? field + RFC3339_MESSAGE : null;
      }
      default: {
        if (!v.isTextual()) return field + " must be string";
        String s = v.textValue();
        int length = s.codePointCount(0, s.length());
        if (length > p.max()) return field + " must not have more than " + p.max() + " characters";
        if (length < p.min()) return field + " must not have fewer than " + p.min() + " characters";
        if (p.pattern() != null && !p.pattern().matcher(s).matches()) return field + " must match pattern \"" + p.patternText() + "\"";
        return null;
      }
    }
  }

  /** lib/safe-text.ts unsafeStrings: every string and field name, depth first. */
  private static void unsafeStrings(JsonNode value, String path, List<Issue> out) {
    if (value.isTextual()) {
      String reason = SafeText.unsafeReason(value.textValue());
      if (reason != null) out.add(new Issue(path, fieldName(path) + " " + reason));
    } else if (value.isArray()) {
      for (int i = 0; i < value.size(); i++) unsafeStrings(value.get(i), path + "/" + i, out);
    } else if (value.isObject()) {
      Iterator<Map.Entry<String, JsonNode>> it = value.fields();
      while (it.hasNext()) {
        Map.Entry<String, JsonNode> e = it.next();
        String at = path + "/" + e.getKey().replace("~", "~0").replace("/", "~1");
        String keyReason = SafeText.unsafeReason(e.getKey());
        if (keyReason != null) out.add(new Issue(at, fieldName(at) + " field name " + keyReason));
        unsafeStrings(e.getValue(), at, out);
      }
    }
  }
}
