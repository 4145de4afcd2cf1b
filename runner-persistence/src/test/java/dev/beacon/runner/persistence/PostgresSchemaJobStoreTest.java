package dev.beacon.runner.persistence;

import dev.beacon.runner.persistence.testing.TestDatabases;
import dev.beacon.runner.persistence.testing.TestDatabases.Database;

/** The whole contract again, with the tables in their own schema (the store qualifies every table). */
class PostgresSchemaJobStoreTest extends JobStoreContract {

    @Override
    Database createDatabase() {
        return TestDatabases.postgres("beacon");
    }
}
