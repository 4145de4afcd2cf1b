package dev.beacon.runner.core.domain;

import java.util.regex.Pattern;

/**
 * One model served in one region, written {@code model@region} (for example {@code mistral-7b@eu}).
 * Comparing the answers of the same model across regions is the point of a job, so an endpoint
 * never stands for another model or another region.
 */
public record EndpointId(String model, String region) implements Comparable<EndpointId> {

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}");

    public EndpointId {
        requireName("model", model);
        requireName("region", region);
    }

    /** Parses {@code model@region}. */
    public static EndpointId parse(String text) {
        int at = text == null ? -1 : text.lastIndexOf('@');
        if (at <= 0 || at == text.length() - 1) {
            throw new IllegalArgumentException("endpoint must be 'model@region', but was '" + text + "'");
        }
        return new EndpointId(text.substring(0, at), text.substring(at + 1));
    }

    static void requireName(String what, String value) {
        if (value == null || !NAME.matcher(value).matches()) {
            throw new IllegalArgumentException(what + " must be 1-128 letters, digits or ._:/- , but was '" + value + "'");
        }
    }

    @Override
    public int compareTo(EndpointId other) {
        int byModel = model.compareTo(other.model);
        return byModel != 0 ? byModel : region.compareTo(other.region);
    }

    @Override
    public String toString() {
        return model + "@" + region;
    }
}
