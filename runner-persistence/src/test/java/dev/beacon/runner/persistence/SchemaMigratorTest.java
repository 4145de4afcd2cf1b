package dev.beacon.runner.persistence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.beacon.runner.persistence.testing.TestDatabases;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SchemaMigratorTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "r2dbc:postgresql://db.example:5432/beacon?sslmode=require | jdbc:postgresql://db.example:5432/beacon?sslmode=require",
            "r2dbc:postgresql://localhost/beacon                       | jdbc:postgresql://localhost/beacon",
            "r2dbc:pool:postgresql://h:5433/b?maxSize=20&sslmode=disable | jdbc:postgresql://h:5433/b?sslmode=disable",
            "r2dbc:pool:postgresql://h:5433/b?initialSize=2&maxSize=20 | jdbc:postgresql://h:5433/b",
            "r2dbc:h2:file///./data/beacon;MODE=PostgreSQL             | jdbc:h2:file:./data/beacon;MODE=PostgreSQL",
            "r2dbc:h2:mem:///runner;DB_CLOSE_DELAY=-1                  | jdbc:h2:mem:runner;DB_CLOSE_DELAY=-1",
            "r2dbc:h2:mem:///runner?options=DB_CLOSE_DELAY=-1;MODE=PostgreSQL | jdbc:h2:mem:runner;DB_CLOSE_DELAY=-1;MODE=PostgreSQL",
            "r2dbc:pool:h2:mem:///runner                               | jdbc:h2:mem:runner",
            "r2dbc:h2:tcp://localhost:9092/beacon                      | jdbc:h2:tcp://localhost:9092/beacon",
    })
    void derivesTheJdbcUrlFromTheR2dbcUrl(String r2dbc, String jdbc) {
        assertThat(new SchemaMigrator(r2dbc, "u", "p").jdbcUrl()).isEqualTo(jdbc);
    }

    @Test
    void picksTheVendorFolderFromTheUrl() {
        assertThat(new SchemaMigrator("r2dbc:pool:postgresql://h/b", "u", null).dialect()).isEqualTo(SqlDialect.POSTGRESQL);
        assertThat(new SchemaMigrator("r2dbc:h2:mem:///x", "sa", "").dialect()).isEqualTo(SqlDialect.H2);
    }

    @Test
    void rejectsOtherDriversAndUnsafeSchemaNames() {
        assertThatThrownBy(() -> new SchemaMigrator("r2dbc:mysql://h/b", "u", "p"))
                .hasMessageContaining("postgresql or h2").hasMessageContaining("mysql");
        assertThatThrownBy(() -> new SchemaMigrator("jdbc:postgresql://h/b", "u", "p"))
                .hasMessageContaining("must start with 'r2dbc:'");
        assertThatThrownBy(() -> new SchemaMigrator("r2dbc:postgresql://h/b", "u", "p", "x; DROP TABLE jobs"))
                .hasMessageContaining("schema must be a lower-case SQL identifier");
    }

    @Test
    void migratingTwiceAppliesNothingTheSecondTime() {
        try (var db = TestDatabases.h2()) {
            assertThat(new SchemaMigrator(db.r2dbcUrl(), db.user(), db.password()).migrate()).isZero();
        }
    }
}
