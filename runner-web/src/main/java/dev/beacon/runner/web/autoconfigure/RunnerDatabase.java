package dev.beacon.runner.web.autoconfigure;

import java.nio.file.Path;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;

/**
 * The database the runner migrates its schema in, named as an R2DBC URL with its credentials: the
 * host's {@code spring.r2dbc.*} settings, or the runner's embedded default when the host has no
 * database ({@link RunnerEmbeddedDatabaseAutoConfiguration}).
 *
 * @param url      R2DBC URL, or {@code null} when the host's {@code ConnectionFactory} comes without one
 * @param username user, or {@code null}
 * @param password password, or {@code null}
 */
public record RunnerDatabase(@Nullable String url, @Nullable String username, @Nullable String password) {

    /** The H2 options of the embedded default: those the stores need, and kept open for the process's life. */
    static final String EMBEDDED_OPTIONS = "MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE;DB_CLOSE_DELAY=-1";

    /**
     * The embedded H2 file database at {@code path} (H2 adds {@code .mv.db}), user {@code sa}: the same
     * database the standalone application uses by default when {@code path} is {@code ./data/beacon}.
     *
     * @throws InvalidConfigurationPropertyValueException naming {@code beacon.runner.persistence.embedded-path}
     */
    public static RunnerDatabase embedded(String path) {
        String property = "beacon.runner.persistence.embedded-path";
        if (path == null || path.isBlank()) {
            throw new InvalidConfigurationPropertyValueException(property, path, "must name a file, e.g. ./data/beacon");
        }
        String p = path.strip().replace('\\', '/');
        if (p.contains(";") || p.contains("?")) {
            throw new InvalidConfigurationPropertyValueException(property, path, "must be a file path without ';' or '?'");
        }
        if (!Path.of(p).isAbsolute() && !p.startsWith("./") && !p.startsWith("../") && !p.startsWith("~")) {
            // H2 refuses a path that is only implicitly relative to the working directory.
            p = "./" + p;
        }
        return new RunnerDatabase("r2dbc:h2:file:///" + p + ";" + EMBEDDED_OPTIONS, "sa", "");
    }

    /** Hides the password. */
    @Override
    public String toString() {
        return "RunnerDatabase[url=" + url + ", username=" + username + ", password=" + (password == null || password.isEmpty() ? "none" : "***") + "]";
    }
}
