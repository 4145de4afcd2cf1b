package dev.beacon.runner.core.provider;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import org.jspecify.annotations.Nullable;

/**
 * Reads an HTTP {@code Retry-After} header, which is either a number of seconds or an HTTP-date
 * (RFC 9110 section 10.2.3). Anything unreadable is ignored rather than failing the attempt: the
 * header is only a hint for the engine's backoff.
 */
final class RetryAfter {

    /** Caps absurd values so one misbehaving provider cannot park a cell for days. */
    static final Duration MAX = Duration.ofHours(1);

    private RetryAfter() {
    }

    /** Returns the delay the header asks for, or {@code null} if it is absent or unreadable. */
    static @Nullable Duration parse(@Nullable String header, Clock clock) {
        if (header == null || header.isBlank()) {
            return null;
        }
        String value = header.trim();
        if (value.chars().allMatch(Character::isDigit)) {
            try {
                return cap(Duration.ofSeconds(Long.parseLong(value)));
            } catch (NumberFormatException tooLong) {
                return MAX;
            }
        }
        try {
            Instant until = ZonedDateTime.parse(value, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
            Duration wait = Duration.between(clock.instant(), until);
            return wait.isNegative() ? Duration.ZERO : cap(wait);
        } catch (DateTimeParseException notADate) {
            return null;
        }
    }

    private static Duration cap(Duration wait) {
        return wait.compareTo(MAX) > 0 ? MAX : wait;
    }
}
