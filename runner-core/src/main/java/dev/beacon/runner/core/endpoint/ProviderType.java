package dev.beacon.runner.core.endpoint;

import java.util.Locale;

/** The wire protocol used to reach a provider. */
public enum ProviderType {
    OPENAI, OLLAMA, MODAL, SIMULATED;

    /** Parses the lower-case name used in configuration ({@code openai}, {@code ollama}, …). */
    public static ProviderType parse(String text) {
        for (ProviderType t : values()) {
            if (t.name().equalsIgnoreCase(text)) {
                return t;
            }
        }
        throw new IllegalArgumentException("provider type must be one of openai, ollama, modal, simulated, but was '" + text + "'");
    }

    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }
}
