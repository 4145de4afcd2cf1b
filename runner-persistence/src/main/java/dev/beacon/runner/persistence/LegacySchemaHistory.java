package dev.beacon.runner.persistence;

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.flywaydb.core.api.MigrationVersion;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the runner's migrations in Flyway's default history table {@value #LEGACY_TABLE}, where
 * runner versions before {@value SchemaMigrator#HISTORY_TABLE} recorded them, and carries them over.
 *
 * <ul>
 *   <li>The legacy table holds only the runner's rows (the usual case: the runner's own database or
 *       schema): it is renamed, with its primary key and index, to the runner's table, so the whole
 *       history (checksums included) keeps being validated and the default name is free for a host's
 *       Flyway.</li>
 *   <li>It holds the runner's rows next to someone else's (a host's Flyway shared the table): it is left
 *       as it is, and {@link #baselineVersion()} tells the migrator to baseline its own table at the
 *       highest runner version found, so nothing is applied twice.</li>
 *   <li>No legacy table, no runner rows in it, or the runner's table exists already: nothing to do.</li>
 * </ul>
 *
 * <p>Blocking JDBC, start-up only. On PostgreSQL the check and the rename run in one transaction under
 * an advisory lock, so instances starting together carry the history over exactly once.
 */
final class LegacySchemaHistory {

    static final String LEGACY_TABLE = "flyway_schema_history";

    private static final Logger log = LoggerFactory.getLogger(LegacySchemaHistory.class);
    /** Any fixed key: serialises the carry-over between instances sharing a PostgreSQL database. */
    private static final long LOCK_KEY = 0x6265_6163_6f6e_6831L;
    /** Rows Flyway writes about the table or schema it created, not about a migration. */
    private static final Set<String> MARKERS = Set.of("SCHEMA", "TABLE");

    private final DataSource dataSource;
    private final SqlDialect dialect;
    private final @Nullable String schema;
    private final Supplier<Set<String>> runnerScripts;
    private @Nullable MigrationVersion baselineVersion;

    /**
     * @param schema        the schema of the runner's history table, or {@code null} for the connection's current one
     * @param runnerScripts the file names of the runner's migrations, e.g. {@code V1__jobs_executions_events.sql}
     */
    LegacySchemaHistory(DataSource dataSource, SqlDialect dialect, @Nullable String schema, Supplier<Set<String>> runnerScripts) {
        this.dataSource = dataSource;
        this.dialect = dialect;
        this.schema = schema;
        this.runnerScripts = runnerScripts;
    }

    /** The version to baseline the runner's table at when the legacy rows stay where they are, or {@code null}. */
    @Nullable MigrationVersion baselineVersion() {
        return baselineVersion;
    }

    /**
     * Carries the runner's legacy history over, if there is one; returns what was done.
     *
     * @throws IllegalStateException if the database cannot be read or the rename fails
     */
    Outcome carryOver() {
        try (Connection c = dataSource.getConnection()) {
            boolean autoCommit = c.getAutoCommit();
            c.setAutoCommit(false);
            try {
                Outcome outcome = carryOver(c);
                c.commit();
                return outcome;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            } finally {
                c.setAutoCommit(autoCommit);
            }
        } catch (SQLException e) {
            throw new IllegalStateException("could not check for the runner's migrations in " + LEGACY_TABLE + ": " + e.getMessage(), e);
        }
    }

    private Outcome carryOver(Connection c) throws SQLException {
        if (dialect == SqlDialect.POSTGRESQL) {
            try (Statement s = c.createStatement()) {
                s.execute("SELECT pg_advisory_xact_lock(" + LOCK_KEY + ")");
            }
        }
        String in = schema != null ? schema : c.getSchema();
        if (in == null || !exists(c, in, LEGACY_TABLE) || exists(c, in, SchemaMigrator.HISTORY_TABLE)) {
            return Outcome.NOTHING;
        }
        List<Row> rows = rows(c, in);
        Set<String> runner = runnerScripts.get();
        List<Row> ours = rows.stream().filter(r -> runner.contains(r.script())).toList();
        if (ours.isEmpty()) {
            return Outcome.NOTHING;
        }
        boolean onlyOurs = rows.stream().allMatch(r -> runner.contains(r.script()) || MARKERS.contains(r.type()));
        if (onlyOurs) {
            rename(c, in);
            log.info("runner schema history carried over: {}.{} renamed to {}.{} ({} row(s))", in, LEGACY_TABLE, in,
                    SchemaMigrator.HISTORY_TABLE, rows.size());
            return Outcome.RENAMED;
        }
        baselineVersion = ours.stream().filter(Row::success).map(r -> MigrationVersion.fromVersion(r.version()))
                .max(MigrationVersion::compareTo).orElse(null);
        if (baselineVersion == null) {
            return Outcome.NOTHING;
        }
        log.warn("{}.{} holds the runner's migrations up to version {} next to other migrations: it is left as it is, and "
                        + "{} starts from a baseline at that version", in, LEGACY_TABLE, baselineVersion, SchemaMigrator.HISTORY_TABLE);
        return Outcome.BASELINED;
    }

    private static boolean exists(Connection c, String schema, String table) throws SQLException {
        DatabaseMetaData meta = c.getMetaData();
        try (ResultSet tables = meta.getTables(null, schema, table, new String[] {"TABLE", "BASE TABLE"})) {
            return tables.next();
        }
    }

    private List<Row> rows(Connection c, String in) throws SQLException {
        List<Row> rows = new ArrayList<>();
        try (Statement s = c.createStatement();
             ResultSet r = s.executeQuery("SELECT \"version\", \"type\", \"script\", \"success\" FROM " + qualified(in, LEGACY_TABLE))) {
            while (r.next()) {
                rows.add(new Row(r.getString(1), r.getString(2), r.getString(3), r.getBoolean(4)));
            }
        }
        return rows;
    }

    /**
     * Renames the table and the names Flyway gave its primary key and index, which are unique per
     * schema: left as they were, they would stop a host's Flyway from creating its own table later.
     */
    private void rename(Connection c, String in) throws SQLException {
        String legacy = qualified(in, LEGACY_TABLE);
        String table = SchemaMigrator.HISTORY_TABLE;
        try (Statement s = c.createStatement()) {
            s.execute("ALTER TABLE " + legacy + " RENAME TO " + quote(table));
            String renamed = qualified(in, table);
            if (dialect == SqlDialect.POSTGRESQL) {
                // Renaming the index behind a primary key renames the constraint too.
                s.execute("ALTER INDEX IF EXISTS " + qualified(in, LEGACY_TABLE + "_pk") + " RENAME TO " + quote(table + "_pk"));
            } else if (constraintExists(c, in, LEGACY_TABLE + "_pk")) {
                s.execute("ALTER TABLE " + renamed + " RENAME CONSTRAINT " + qualified(in, LEGACY_TABLE + "_pk") + " TO " + quote(table + "_pk"));
            }
            s.execute("ALTER INDEX IF EXISTS " + qualified(in, LEGACY_TABLE + "_s_idx") + " RENAME TO " + quote(table + "_s_idx"));
        }
    }

    private static boolean constraintExists(Connection c, String schema, String name) throws SQLException {
        try (var s = c.prepareStatement("SELECT 1 FROM information_schema.table_constraints WHERE constraint_schema = ? AND constraint_name = ?")) {
            s.setString(1, schema);
            s.setString(2, name);
            try (ResultSet r = s.executeQuery()) {
                return r.next();
            }
        }
    }

    private static String qualified(String schema, String name) {
        return quote(schema) + "." + quote(name);
    }

    private static String quote(String identifier) {
        return "\"" + identifier.replace("\"", "\"\"") + "\"";
    }

    /** What {@link #carryOver()} did. */
    enum Outcome {
        /** No legacy history of the runner's: nothing changed. */
        NOTHING,
        /** The legacy table held only the runner's history and is now the runner's table. */
        RENAMED,
        /** The legacy table is shared and stays; the runner's table is to be baselined at {@link #baselineVersion()}. */
        BASELINED
    }

    /** A row of Flyway's history: {@code version} is {@code null} for a repeatable migration or a marker row. */
    private record Row(@Nullable String version, String type, String script, boolean success) {
    }
}
