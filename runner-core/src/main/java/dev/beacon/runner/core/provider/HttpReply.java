package dev.beacon.runner.core.provider;

import org.jspecify.annotations.Nullable;

/**
 * One HTTP response as read by {@link ProviderTransport}: the status, the two headers the clients
 * act on, the headers the provider's configuration records, and the body (complete for a 2xx, a
 * short prefix otherwise).
 *
 * @param location   the {@code Location} header, or {@code null}
 * @param retryAfter the raw {@code Retry-After} header, or {@code null}
 * @param recorded   the {@code record-headers} the response carried, by lower-case name
 */
record HttpReply(int status, @Nullable String location, @Nullable String retryAfter, java.util.Map<String, String> recorded,
                 byte[] body) {

    boolean successful() {
        return status >= 200 && status < 300;
    }
}
