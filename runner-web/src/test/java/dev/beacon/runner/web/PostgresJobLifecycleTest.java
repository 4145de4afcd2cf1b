package dev.beacon.runner.web;

import dev.beacon.runner.persistence.testing.TestDatabases;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * {@link JobLifecycleTest} against a real PostgreSQL (embedded, or {@code BEACON_TEST_PG_URL}), with
 * LISTEN/NOTIFY waking the event streams, and migrations applied from {@code spring.r2dbc.url}.
 */
class PostgresJobLifecycleTest extends JobLifecycleTest {

    PostgresJobLifecycleTest(RunnerClient client) {
        super(client);
    }

    @DynamicPropertySource
    static void postgres(DynamicPropertyRegistry registry) {
        register(registry);
    }

    /** Points {@code spring.r2dbc.*} at a new, empty PostgreSQL database. */
    static void register(DynamicPropertyRegistry registry) {
        TestDatabases.Database db = TestDatabases.postgres();
        registry.add("spring.r2dbc.url", db::r2dbcUrl);
        registry.add("spring.r2dbc.username", db::user);
        registry.add("spring.r2dbc.password", () -> db.password() == null ? "" : db.password());
    }
}
