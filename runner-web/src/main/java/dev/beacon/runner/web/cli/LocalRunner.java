package dev.beacon.runner.web.cli;

import dev.beacon.runner.web.BeaconRunnerApplication;
import java.net.URI;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The runner started in this process for {@code run} without {@code --server}: the standalone
 * application on the configured endpoints and database, listening on a free loopback port only,
 * with a token made for this run (no one else on the machine can submit to it), no banner, and no
 * shutdown hook of its own — the command closes it after {@code job.finished}, Ctrl-C included.
 */
final class LocalRunner implements AutoCloseable {

    private final ConfigurableApplicationContext context;
    private final URI url;
    private final String token;

    private LocalRunner(ConfigurableApplicationContext context, URI url, String token) {
        this.context = context;
        this.url = url;
        this.token = token;
    }

    static LocalRunner start() {
        byte[] secret = new byte[24];
        new SecureRandom().nextBytes(secret);
        String token = HexFormat.of().formatHex(secret);
        SpringApplication application = BeaconRunnerApplication.application();
        application.setRegisterShutdownHook(false);
        Map<String, Object> properties = new LinkedHashMap<>();
        properties.put("server.port", "0");
        properties.put("server.address", "127.0.0.1");
        properties.put("spring.main.banner-mode", "off");
        properties.put("beacon.runner.security.tokens[0]", token);
        properties.put("beacon.runner.security.open-reads", "false");
        // The progress display is the command's output; the runner's INFO lines would drown it.
        properties.put("logging.level.root", "WARN");
        properties.put("logging.level.dev.beacon", "WARN");
        ConfigurableApplicationContext context = application.run(toArgs(properties));
        // A started reactive web application has its server.
        int port = Objects.requireNonNull(((WebServerApplicationContext) context).getWebServer(), "web server").getPort();
        return new LocalRunner(context, URI.create("http://127.0.0.1:" + port + "/"), token);
    }

    private static String[] toArgs(Map<String, Object> properties) {
        return properties.entrySet().stream().map(e -> "--" + e.getKey() + "=" + e.getValue()).toArray(String[]::new);
    }

    URI url() {
        return url;
    }

    String token() {
        return token;
    }

    @Override
    public void close() {
        context.close();
    }
}
