package dev.beacon.runner.persistence;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.MigrationVersion;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.flywaydb.core.api.output.MigrateResult;
import org.jspecify.annotations.Nullable;

/**
 * Applies the versioned schema migrations ({@code db/migration/postgresql} or {@code db/migration/h2})
 * to the database named by an R2DBC URL, so that operators set one database URL only.
 *
 * <p>Flyway speaks JDBC, so {@link #migrate()} <b>blocks</b>: the JDBC URL is derived from the R2DBC URL
 * ({@code r2dbc:postgresql://h:p/db?x} → {@code jdbc:postgresql://h:p/db?x}, {@code r2dbc:h2:mem:///n;o}
 * → {@code jdbc:h2:mem:n;o}, {@code r2dbc:h2:file///./d;o} → {@code jdbc:h2:file:./d;o},
 * {@code r2dbc:pool:…} accepted). That is acceptable only because it runs once at start-up, before
 * any event loop serves requests; never call it from a reactive pipeline.
 *
 * <p>With a {@code schema}, the tables go into that schema (created if missing) and the stores must
 * be given the same schema: they then qualify every table as {@code schema.table} in their SQL, which
 * works whatever the connection's {@code search_path} is.
 *
 * <p>The runner's history is its own table, {@value #HISTORY_TABLE}, so that a host's Flyway (whose
 * default table is {@code flyway_schema_history}) never sees the runner's migrations, nor the runner
 * the host's, even in one schema. On a schema that holds other tables but not this one, the runner
 * baselines at version 0 and applies all of its migrations. A database migrated by an earlier runner
 * under Flyway's default table is carried over first (see {@link LegacySchemaHistory}).
 */
public final class SchemaMigrator {

    /** The table in which the runner's Flyway records its migrations. */
    public static final String HISTORY_TABLE = "beacon_runner_schema_history";

    private static final Pattern SCHEMA = Pattern.compile("[a-z_][a-z0-9_]{0,62}");

    private final String r2dbcUrl;
    private final @Nullable String user;
    private final @Nullable String password;
    private final @Nullable String schema;

    /**
     * @param user     the database user, or {@code null} for none (the URL's, or the driver's default)
     * @param password the user's password, or {@code null} for none
     * @param schema   lower-case SQL identifier, or {@code null} for the connection's default schema
     */
    public SchemaMigrator(String r2dbcUrl, @Nullable String user, @Nullable String password, @Nullable String schema) {
        this.r2dbcUrl = Objects.requireNonNull(r2dbcUrl, "r2dbcUrl");
        this.user = user;
        this.password = password;
        this.schema = checkSchema(schema);
        JdbcUrls.toJdbc(r2dbcUrl); // fail fast on a URL we cannot translate
    }

    /** A migrator for the default schema. */
    public SchemaMigrator(String r2dbcUrl, @Nullable String user, @Nullable String password) {
        this(r2dbcUrl, user, password, null);
    }

    /** The JDBC URL Flyway uses. */
    public String jdbcUrl() {
        return JdbcUrls.toJdbc(r2dbcUrl);
    }

    /** The dialect of the URL's database. */
    public SqlDialect dialect() {
        return SqlDialect.ofUrl(r2dbcUrl);
    }

    /**
     * What Flyway needs for this URL's database that {@code loader} cannot load, as Maven coordinates
     * (empty when nothing is missing; {@code loader} {@code null} is the bootstrap loader). They are optional
     * dependencies of this module, left to its user, and Flyway's own errors for a missing one do not name
     * the artifact to add.
     */
    public List<String> missingLibraries(@Nullable ClassLoader loader) {
        List<Library> needed = dialect() == SqlDialect.POSTGRESQL
                ? List.of(new Library("org.postgresql.Driver", "org.postgresql:postgresql"),
                        new Library("org.flywaydb.database.postgresql.PostgreSQLDatabaseType", "org.flywaydb:flyway-database-postgresql"))
                : List.of(new Library("org.h2.Driver", "com.h2database:h2"));
        return needed.stream().filter(library -> !library.loadableBy(loader)).map(Library::coordinates).toList();
    }

    /** A class that Flyway loads for one database, and the artifact that holds it. */
    private record Library(String className, String coordinates) {

        /** {@code loader} {@code null} is the bootstrap loader, as for {@link Class#forName(String, boolean, ClassLoader)}. */
        boolean loadableBy(@Nullable ClassLoader loader) {
            try {
                Class.forName(className, false, loader);
                return true;
            } catch (ClassNotFoundException | LinkageError e) {
                return false;
            }
        }
    }

    /**
     * Applies every pending migration, blocking until done (start-up only); returns how many were applied.
     *
     * @throws org.flywaydb.core.api.FlywayException if the database cannot be reached or a migration fails
     */
    public int migrate() {
        FluentConfiguration config = configure();
        FluentConfiguration resolving = config;
        LegacySchemaHistory legacy = new LegacySchemaHistory(config.getDataSource(), dialect(), schema, () -> scripts(resolving));
        legacy.carryOver();
        MigrationVersion baseline = legacy.baselineVersion();
        if (baseline != null) {
            config = config.baselineVersion(baseline)
                    .baselineDescription("runner migrations up to " + baseline + " recorded in " + LegacySchemaHistory.LEGACY_TABLE);
        }
        MigrateResult result = config.load().migrate();
        return result.migrationsExecuted;
    }

    private FluentConfiguration configure() {
        var config = Flyway.configure(SchemaMigrator.class.getClassLoader())
                .dataSource(jdbcUrl(), user, password)
                .locations("classpath:db/migration/" + dialect().vendor())
                .failOnMissingLocations(true)
                .table(HISTORY_TABLE)
                // A schema shared with a host has its tables but not this history: start below V1.
                .baselineOnMigrate(true)
                .baselineVersion("0")
                .baselineDescription("before the runner's first migration");
        if (schema != null) {
            config = config.schemas(schema).defaultSchema(schema).createSchemas(true);
        }
        return config;
    }

    /** The file names of the runner's migrations for this vendor. */
    private static Set<String> scripts(FluentConfiguration config) {
        return Arrays.stream(config.load().info().all()).map(MigrationInfo::getScript).filter(Objects::nonNull)
                .collect(Collectors.toUnmodifiableSet());
    }

    static @Nullable String checkSchema(@Nullable String schema) {
        if (schema != null && !SCHEMA.matcher(schema).matches()) {
            throw new IllegalArgumentException("schema must be a lower-case SQL identifier, but was '" + schema + "'");
        }
        return schema;
    }
}
