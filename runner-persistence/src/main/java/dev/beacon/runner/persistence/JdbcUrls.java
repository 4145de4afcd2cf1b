package dev.beacon.runner.persistence;

import java.util.Set;
import java.util.StringJoiner;

/**
 * Derives the JDBC URL Flyway needs from the one R2DBC URL the contract lets operators set.
 *
 * <ul>
 *   <li>{@code r2dbc:postgresql://host:port/db?params} → {@code jdbc:postgresql://host:port/db?params}</li>
 *   <li>{@code r2dbc:pool:postgresql://…} → the same, without r2dbc-pool's own options</li>
 *   <li>{@code r2dbc:h2:file///./data/beacon;opts} → {@code jdbc:h2:file:./data/beacon;opts}</li>
 *   <li>{@code r2dbc:h2:mem:///name;opts} → {@code jdbc:h2:mem:name;opts}</li>
 *   <li>{@code r2dbc:h2:tcp://host:port/path} → {@code jdbc:h2:tcp://host:port/path}</li>
 * </ul>
 * H2 options given R2DBC-style as {@code ?options=A=1;B=2} become {@code ;A=1;B=2}.
 */
final class JdbcUrls {

    /** Query options that configure r2dbc-pool, not the database; JDBC drivers would warn about or reject them. */
    private static final Set<String> POOL_OPTIONS = Set.of("initialSize", "maxSize", "minIdle", "maxIdleTime",
            "maxLifeTime", "maxCreateConnectionTime", "maxAcquireTime", "maxValidationTime", "acquireRetry",
            "backgroundEvictionInterval", "poolName", "registerJmx", "validationQuery", "validationDepth",
            "protocol");

    private JdbcUrls() {
    }

    /** The driver part of an R2DBC URL, e.g. {@code postgresql} for {@code r2dbc:pool:postgresql://…}. */
    static String driverOf(String r2dbcUrl) {
        String rest = stripScheme(r2dbcUrl);
        int colon = rest.indexOf(':');
        if (colon < 1) {
            throw new IllegalArgumentException("r2dbc url must look like r2dbc:<driver>:…, but was '" + r2dbcUrl + "'");
        }
        return rest.substring(0, colon);
    }

    static String toJdbc(String r2dbcUrl) {
        String rest = stripScheme(r2dbcUrl);
        String driver = driverOf(r2dbcUrl);
        String afterDriver = rest.substring(driver.length() + 1);
        return switch (driver) {
            case "postgresql", "postgres" -> "jdbc:postgresql:" + withoutPoolOptions(afterDriver);
            case "h2" -> "jdbc:h2:" + h2(afterDriver, r2dbcUrl);
            default -> throw new IllegalArgumentException("r2dbc url must name driver postgresql or h2, but was '" + driver + "'");
        };
    }

    private static String stripScheme(String url) {
        if (url == null || !url.startsWith("r2dbc:")) {
            throw new IllegalArgumentException("r2dbc url must start with 'r2dbc:', but was '" + url + "'");
        }
        String rest = url.substring("r2dbc:".length());
        return rest.startsWith("pool:") ? rest.substring("pool:".length()) : rest;
    }

    private static String withoutPoolOptions(String afterDriver) {
        int q = afterDriver.indexOf('?');
        if (q < 0) {
            return afterDriver;
        }
        StringJoiner kept = new StringJoiner("&");
        for (String pair : afterDriver.substring(q + 1).split("&")) {
            String key = pair.contains("=") ? pair.substring(0, pair.indexOf('=')) : pair;
            if (!pair.isEmpty() && !POOL_OPTIONS.contains(key)) {
                kept.add(pair);
            }
        }
        String base = afterDriver.substring(0, q);
        return kept.length() == 0 ? base : base + "?" + kept;
    }

    /** {@code file///./x;o}, {@code mem:///x;o}, {@code tcp://h/x;o} → {@code file:./x;o}, {@code mem:x;o}, {@code tcp://h/x;o}. */
    private static String h2(String afterDriver, String original) {
        String s = afterDriver;
        String options = "";
        int q = s.indexOf("?options=");
        if (q >= 0) {
            options = ";" + s.substring(q + "?options=".length()).replace('&', ';');
            s = s.substring(0, q);
        }
        int colonOrSlash = indexOfAny(s, ":/");
        if (colonOrSlash < 1) {
            throw new IllegalArgumentException("h2 r2dbc url must name mem, file or tcp, but was '" + original + "'");
        }
        String protocol = s.substring(0, colonOrSlash);
        String path = s.substring(colonOrSlash);
        if (path.startsWith(":")) {
            path = path.substring(1);
        }
        if (protocol.equals("tcp") || protocol.equals("ssl")) {
            return protocol + ":" + path + options;
        }
        if (!protocol.equals("mem") && !protocol.equals("file")) {
            throw new IllegalArgumentException("h2 r2dbc url must name mem, file or tcp, but was '" + original + "'");
        }
        // R2DBC writes an empty authority: "//" then "/" before the database path.
        if (path.startsWith("//")) {
            path = path.substring(2);
            if (path.startsWith("/")) {
                path = path.substring(1);
            }
        }
        return protocol + ":" + path + options;
    }

    private static int indexOfAny(String s, String chars) {
        for (int i = 0; i < s.length(); i++) {
            if (chars.indexOf(s.charAt(i)) >= 0) {
                return i;
            }
        }
        return -1;
    }
}
