package bench.rewards;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/** JSON text exactly as JavaScript's JSON.stringify writes it (the project's serdes), so that the
 *  records and store values of this reference are byte-identical to the project's. */
final class JsonText {
  private JsonText() { }

  /** A JSON string literal, escaped as JSON.stringify does (well-formed JSON.stringify: lone
   *  surrogates as \\uXXXX, control characters as \\b \\t \\n \\f \\r or \\u00xx). */
  static void quote(StringBuilder out, String s) {
    out.append('"');
    int n = s.length();
    for (int i = 0; i < n; i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"': out.append("\\\""); break;
        case '\\': out.append("\\\\"); break;
        case '\b': out.append("\\b"); break;
        case '\f': out.append("\\f"); break;
        case '\n': out.append("\\n"); break;
        case '\r': out.append("\\r"); break;
        case '\t': out.append("\\t"); break;
        default:
          if (c < 0x20) {
            unicodeEscape(out, c);
          } else if (Character.isHighSurrogate(c)) {
            if (i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
              out.append(c).append(s.charAt(++i));
            } else {
              unicodeEscape(out, c);
            }
          } else if (Character.isLowSurrogate(c)) {
            unicodeEscape(out, c);
          } else {
            out.append(c);
          }
      }
    }
    out.append('"');
  }

  private static void unicodeEscape(StringBuilder out, char c) {
    String hex = Integer.toHexString(c);
    out.append("\\u");
    for (int k = hex.length(); k < 4; k++) out.append('0');
    out.append(hex);
  }

  static String quote(String s) {
    StringBuilder out = new StringBuilder(s.length() + 2);
    quote(out, s);
    return out.toString();
  }

  /** JSON.stringify of a JS number. Integers (all this topology writes) print as digits; other
   *  values follow ECMAScript Number::toString closely enough for the inputs' numbers. */
  static String number(double d) {
    if (Double.isNaN(d) || Double.isInfinite(d)) return "null";
    if (d == Math.rint(d) && Math.abs(d) < 1e21) {
      if (d == 0) return "0";
      return new java.math.BigDecimal(d).toPlainString();
    }
    return jsNumberToString(d);
  }

  private static String jsNumberToString(double d) {
    // Shortest round-trip digits (Java 19+ Double.toString is shortest; 17's is close enough for
    // the canonical digest of non-integers, which valid inputs never hold).
    java.math.BigDecimal b = new java.math.BigDecimal(Double.toString(d)).stripTrailingZeros();
    String digits = b.unscaledValue().abs().toString();
    int k = digits.length();
    int n = k - b.scale();
    StringBuilder out = new StringBuilder();
    if (d < 0) out.append('-');
    if (k <= n && n <= 21) {
      out.append(digits);
      for (int i = 0; i < n - k; i++) out.append('0');
    } else if (0 < n && n <= 21) {
      out.append(digits, 0, n).append('.').append(digits, n, k);
    } else if (-6 < n && n <= 0) {
      out.append("0.");
      for (int i = 0; i < -n; i++) out.append('0');
      out.append(digits);
    } else {
      int e = n - 1;
      out.append(digits.charAt(0));
      if (k > 1) out.append('.').append(digits, 1, k);
      out.append('e').append(e >= 0 ? "+" : "-").append(Math.abs(e));
    }
    return out.toString();
  }

  /** canonicalJson of content-digest.ts: object keys sorted (UTF-16 order) at every level, no
   *  whitespace. */
  static void canonical(StringBuilder out, JsonNode node) {
    if (node.isObject()) {
      List<Map.Entry<String, JsonNode>> entries = new ArrayList<>();
      Iterator<Map.Entry<String, JsonNode>> it = node.fields();
      while (it.hasNext()) entries.add(it.next());
      entries.sort(Map.Entry.comparingByKey());
      out.append('{');
      boolean first = true;
      for (Map.Entry<String, JsonNode> e : entries) {
        if (!first) out.append(',');
        first = false;
        quote(out, e.getKey());
        out.append(':');
        canonical(out, e.getValue());
      }
      out.append('}');
    } else if (node.isArray()) {
      out.append('[');
      for (int i = 0; i < node.size(); i++) {
        if (i > 0) out.append(',');
        canonical(out, node.get(i));
      }
      out.append(']');
    } else if (node.isTextual()) {
      quote(out, node.textValue());
    } else if (node.isNumber()) {
      out.append(number(node.doubleValue()));
    } else if (node.isBoolean()) {
      out.append(node.booleanValue() ? "true" : "false");
    } else {
      out.append("null");
    }
  }

  /** JSON.stringify of a parsed value: keys in their order, numbers as JS prints them. */
  static void write(StringBuilder out, JsonNode node) {
    if (node.isObject()) {
      out.append('{');
      boolean first = true;
      Iterator<Map.Entry<String, JsonNode>> it = node.fields();
      while (it.hasNext()) {
        Map.Entry<String, JsonNode> e = it.next();
        if (!first) out.append(',');
        first = false;
        quote(out, e.getKey());
        out.append(':');
        write(out, e.getValue());
      }
      out.append('}');
    } else if (node.isArray()) {
      out.append('[');
      for (int i = 0; i < node.size(); i++) {
        if (i > 0) out.append(',');
        write(out, node.get(i));
      }
      out.append(']');
    } else {
      canonical(out, node);
    }
  }

  static String write(JsonNode node) {
    StringBuilder out = new StringBuilder();
    write(out, node);
    return out.toString();
  }
}
