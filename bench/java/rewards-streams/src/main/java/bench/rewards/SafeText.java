package bench.rewards;

/** lib/safe-text.ts: text that cannot be stored or shown safely (lone surrogates, control
 *  characters: Unicode category Cc). */
final class SafeText {
  private SafeText() { }

  static String unsafeReason(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isHighSurrogate(c)) {
        if (i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) { i++; continue; }
        return "must be well-formed Unicode (it holds a lone surrogate)";
      }
      if (Character.isLowSurrogate(c)) return "must be well-formed Unicode (it holds a lone surrogate)";
    }
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c < 0x20 || (c >= 0x7f && c < 0xa0)) {
        String hex = Integer.toHexString(c).toUpperCase();
        return "must not hold control characters (U+" + "0000".substring(hex.length()) + hex + " at " + i + ")";
      }
    }
    return null;
  }

  static String printable(String text) {
    return unsafeReason(text) == null ? text : JsonText.quote(text);
  }
}
