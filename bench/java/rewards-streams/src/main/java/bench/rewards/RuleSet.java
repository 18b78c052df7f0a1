package bench.rewards;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** processors/rewards/rules-engine.ts: the same rule set file (rules/2026-1.json by default),
 *  evaluated with the same integer arithmetic:
 *  points = floor(amountCents × baseRate × tierMultiplier × promo… / (10^9 × 10^(4k))). The file is
 *  trusted: the project validates it (parseRuleSet) and the bench hands the same file to both. */
final class RuleSet {
  record Tier(String name, long minQualifyingPoints, long multiplierBasisPoints) { }

  record Promotion(String id, long multiplierBasisPoints, Set<String> sources, Set<String> propertyIds, long startsAtMs, long endsAtMs) { }

  final String version;
  final long hotelRate;
  final long casinoRate;
  final long diningRate;
  /** Ascending by minQualifyingPoints; the first starts at 0. */
  final List<Tier> tiers = new ArrayList<>();
  final List<Promotion> promotions = new ArrayList<>();

  private static final BigInteger BASE_DIVISOR = BigInteger.valueOf(1_000_000_000L);
  private static final BigInteger BASIS = BigInteger.valueOf(10_000L);

  RuleSet(File file) throws IOException {
    JsonNode json = new ObjectMapper().readTree(file);
    version = json.get("version").textValue();
    JsonNode rates = json.get("baseRates");
    hotelRate = rates.get("HOTEL").longValue();
    casinoRate = rates.get("CASINO").longValue();
    diningRate = rates.get("DINING").longValue();
    for (JsonNode t : json.get("tiers")) {
      tiers.add(new Tier(t.get("name").textValue(), t.get("minQualifyingPoints").longValue(), t.get("multiplierBasisPoints").longValue()));
    }
    for (JsonNode p : json.get("promotions")) {
      promotions.add(new Promotion(p.get("id").textValue(), p.get("multiplierBasisPoints").longValue(),
          textSet(p.get("sources")), textSet(p.get("propertyIds")),
          Rfc3339.parse(p.get("startsAt").textValue()), Rfc3339.parse(p.get("endsAt").textValue())));
    }
  }

  private static Set<String> textSet(JsonNode array) {
    if (array == null) return null;
    Set<String> out = new HashSet<>();
    for (JsonNode n : array) out.add(n.textValue());
    return out;
  }

  long baseRate(String source) {
    switch (source) {
      case "HOTEL": return hotelRate;
      case "CASINO": return casinoRate;
      default: return diningRate;
    }
  }

  /** tierFor: the last tier whose minimum the points reach. */
  Tier tierFor(long qualifyingPoints) {
    Tier tier = tiers.get(0);
    for (Tier t : tiers) {
      if (qualifyingPoints >= t.minQualifyingPoints()) tier = t;
      else break;
    }
    return tier;
  }

  /** earnPoints: exact, as a BigInteger (the caller dead-letters what exceeds 2^53 − 1). */
  BigInteger earnPoints(String source, String propertyId, long amountCents, long occurredAtMs, Tier tier) {
    BigInteger numerator = BigInteger.valueOf(amountCents).multiply(BigInteger.valueOf(baseRate(source))).multiply(BigInteger.valueOf(tier.multiplierBasisPoints()));
    BigInteger divisor = BASE_DIVISOR;
    for (Promotion p : promotions) {
      if (occurredAtMs >= p.startsAtMs() && occurredAtMs < p.endsAtMs()
          && (p.sources() == null || p.sources().contains(source))
          && (p.propertyIds() == null || p.propertyIds().contains(propertyId))) {
        numerator = numerator.multiply(BigInteger.valueOf(p.multiplierBasisPoints()));
        divisor = divisor.multiply(BASIS);
      }
    }
    return numerator.divide(divisor);
  }
}
