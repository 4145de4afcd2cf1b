package dev.beacon.runner.persistence;

import dev.beacon.runner.core.domain.ExecutionResult;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.springframework.r2dbc.core.DatabaseClient.GenericExecuteSpec;

/** Values as the store's statements bind them, and the chunking of large multi-row statements. */
final class SqlValues {

    private SqlValues() {
    }

    /** Both databases keep microseconds; truncating first makes what is returned equal what is read back. */
    static Instant micros(Instant t) {
        return t.truncatedTo(ChronoUnit.MICROS);
    }

    /** {@code r} with its times truncated to microseconds, as {@link #micros(Instant)}. */
    static ExecutionResult micros(ExecutionResult r) {
        Instant started = r.startedAt();
        return new ExecutionResult(r.cell(), r.providerId(), r.status(), r.attempts(), started == null ? null : micros(started),
                micros(r.completedAt()), r.latencyMs(), r.output(), r.error(), r.receipt(), r.carriedFrom());
    }

    /** A timestamp as both drivers bind it ({@code TIMESTAMP WITH TIME ZONE}). */
    static OffsetDateTime ts(Instant t) {
        return OffsetDateTime.ofInstant(t, ZoneOffset.UTC);
    }

    /** Binds {@code value}, or a typed {@code NULL} when it is absent (a driver needs the type). */
    static <V> GenericExecuteSpec nullable(GenericExecuteSpec spec, String name, @Nullable V value, Class<V> type) {
        return value == null ? spec.bindNull(name, type) : spec.bind(name, value);
    }

    /** {@code all} cut into consecutive views of at most {@code size}, so that no statement binds too many values. */
    static <T> List<List<T>> chunks(List<T> all, int size) {
        List<List<T>> result = new ArrayList<>();
        for (int i = 0; i < all.size(); i += size) {
            result.add(all.subList(i, Math.min(all.size(), i + size)));
        }
        return result;
    }
}
