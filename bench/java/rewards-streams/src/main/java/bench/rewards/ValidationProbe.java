package bench.rewards;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Base64;

/** Validation of records given on stdin, one JSON line each ({"reward": bool, "key": base64|null,
 *  "value": base64|null}), answered on stdout ({"code", "message", "eventTimeMs"}): lets
 *  test/bench/kafka-streams-validation.test.ts hold this reference's validation against the
 *  project's on the same records. */
public final class ValidationProbe {
  private ValidationProbe() { }

  public static void main(String[] argv) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      if (line.isBlank()) continue;
      JsonNode q = Validation.MAPPER.readTree(line);
      byte[] key = bytes(q.get("key"));
      byte[] value = bytes(q.get("value"));
      Validation.Validated v = q.get("reward").booleanValue() ? Validation.validateRewardRecord(key, value) : Validation.validateRedeemRecord(key, value);
      ObjectNode out = Validation.MAPPER.createObjectNode();
      if (v.ok()) out.put("eventTimeMs", v.eventTimeMs());
      else out.put("code", v.code()).put("message", v.message());
      System.out.println(JsonText.write(out));
    }
  }

  private static byte[] bytes(JsonNode node) {
    return node == null || node.isNull() ? null : Base64.getDecoder().decode(node.textValue());
  }
}
