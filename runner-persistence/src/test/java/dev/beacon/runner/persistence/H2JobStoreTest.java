package dev.beacon.runner.persistence;

import dev.beacon.runner.persistence.testing.TestDatabases;
import dev.beacon.runner.persistence.testing.TestDatabases.Database;

class H2JobStoreTest extends JobStoreContract {

    @Override
    Database createDatabase() {
        return TestDatabases.h2();
    }
}
