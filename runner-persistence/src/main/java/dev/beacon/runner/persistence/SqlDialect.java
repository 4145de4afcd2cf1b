package dev.beacon.runner.persistence;

import io.r2dbc.spi.ConnectionFactory;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * The few SQL differences between the databases the stores run on; everything else is written once in
 * the subset both accept (see the stack notes: H2 in PostgreSQL mode rejects {@code ON CONFLICT (cols)},
 * {@code RETURNING}, partial indexes and {@code ->>}, but accepts {@code ON CONFLICT DO NOTHING} without a
 * target and {@code FOR UPDATE SKIP LOCKED}).
 */
public enum SqlDialect {

    /** PostgreSQL: JSON columns are {@code jsonb}; bound text is cast to it. */
    POSTGRESQL("postgresql"),

    /** H2 in PostgreSQL mode: JSON columns are plain text, since H2's JSON type would store a bound string as a JSON string. */
    H2("h2");

    private final String vendor;

    SqlDialect(String vendor) {
        this.vendor = vendor;
    }

    /** The vendor name used for the migration folder {@code db/migration/{vendor}}. */
    public String vendor() {
        return vendor;
    }

    /** The SQL expression that stores named parameter {@code param} (JSON text) in a JSON column. */
    public String json(String param) {
        return this == POSTGRESQL ? "CAST(:" + param + " AS jsonb)" : ":" + param;
    }

    /** The SQL expression for the timestamp {@code instant} plus {@code millis} milliseconds (both SQL expressions). */
    public String plusMillis(String instant, String millis) {
        return this == POSTGRESQL ? "(" + instant + " + " + millis + " * INTERVAL '1 millisecond')"
                : "DATEADD(MILLISECOND, " + millis + ", " + instant + ")";
    }

    /** Whether {@code INSERT … RETURNING} works, which lets a batch learn which rows it inserted in one statement. */
    public boolean supportsReturning() {
        return this == POSTGRESQL;
    }

    /**
     * Whether {@code … LIMIT 1 FOR UPDATE SKIP LOCKED} returns the first <em>unlocked</em> row. H2 applies
     * the limit first and then skips the locked row, returning nothing; there a claim is an optimistic
     * compare-and-set instead.
     */
    public boolean skipLockedAfterLimit() {
        return this == POSTGRESQL;
    }

    /**
     * The dialect of the database behind {@code factory}, from {@code getMetadata().getName()} (a pool
     * reports the name of the factory it wraps).
     *
     * @throws IllegalArgumentException for any other database
     */
    public static SqlDialect of(ConnectionFactory factory) {
        return ofProductName(factory.getMetadata().getName());
    }

    static SqlDialect ofProductName(@Nullable String name) {
        String n = name == null ? "" : name.toLowerCase(Locale.ROOT);
        if (n.contains("postgres")) {
            return POSTGRESQL;
        }
        if (n.equals("h2") || n.startsWith("h2 ")) {
            return H2;
        }
        throw new IllegalArgumentException("database must be PostgreSQL or H2, but was '" + name + "'");
    }

    /**
     * The dialect named by an R2DBC URL ({@code r2dbc:postgresql:…}, {@code r2dbc:pool:h2:…}, …).
     *
     * @throws IllegalArgumentException for any other driver
     */
    public static SqlDialect ofUrl(String r2dbcUrl) {
        String driver = JdbcUrls.driverOf(r2dbcUrl);
        return switch (driver) {
            case "postgresql", "postgres" -> POSTGRESQL;
            case "h2" -> H2;
            default -> throw new IllegalArgumentException("r2dbc url must name driver postgresql or h2, but was '" + driver + "'");
        };
    }
}
