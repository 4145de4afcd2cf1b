/**
 * R2DBC persistence of Beacon Runner: {@link dev.beacon.runner.persistence.R2dbcJobStore} (jobs,
 * executions, the event log, claiming and leases), {@link dev.beacon.runner.persistence.SchemaMigrator}
 * (Flyway, per-vendor migrations under {@code db/migration/{postgresql,h2}}) and the signals between
 * instances ({@link dev.beacon.runner.persistence.R2dbcJobSignals} on PostgreSQL,
 * {@link dev.beacon.runner.persistence.LocalJobSignals} in one JVM).
 *
 * <p>Schema: give the same optional schema name to {@code SchemaMigrator} and to
 * {@code R2dbcJobStore.Builder.schema}; the store then writes every table as {@code schema.table},
 * independent of the connection's {@code search_path}.
 *
 * <p>H2 (the embedded default) needs {@code MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE} and a user
 * ({@code sa}); for an in-memory database also {@code DB_CLOSE_DELAY=-1}, so that it survives the
 * migration's JDBC connection. The driver blocks, so the store runs its H2 statements on
 * bounded-elastic threads, and claims optimistically since H2 applies {@code LIMIT} before
 * {@code SKIP LOCKED}.
 */
@NullMarked
package dev.beacon.runner.persistence;

import org.jspecify.annotations.NullMarked;
