package dev.beacon.runner.web;

import dev.beacon.runner.web.cli.RunnerCommand;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.env.YamlPropertySourceLoader;
import org.springframework.core.env.EnumerablePropertySource;
import org.springframework.core.env.PropertySource;
import org.springframework.core.io.ClassPathResource;

/**
 * The standalone runner: {@code java -jar beacon-runner.jar} serves the API on port 8080 with the
 * embedded database and the simulated endpoints of {@code config/application.yaml}. Everything it
 * runs comes from the runner's auto-configurations, exactly as in a host application.
 *
 * <p>{@code config/application.yaml} is packaged as {@code beacon-runner/application.yaml} and applied
 * as the lowest-precedence defaults, so that any standard Spring Boot source (an
 * {@code application.yaml} in the working directory, {@code --spring.config.additional-location},
 * environment variables, command-line arguments) overrides it, while a host that embeds the library
 * jar never sees it.
 *
 * <p>The same jar is the command line: {@code java -jar beacon-runner.jar verify BUNDLE.json} runs
 * {@link RunnerCommand} instead of the server.
 */
@SpringBootApplication
public class BeaconRunnerApplication {

    /** Where the packaged standalone defaults are on the class path. */
    public static final String DEFAULTS = "beacon-runner/application.yaml";

    /**
     * Starts the server, or, when the first argument names a subcommand ({@code verify}, …), runs the
     * command line without starting Spring and exits with its code.
     */
    public static void main(String[] args) {
        if (RunnerCommand.handles(args)) {
            System.exit(RunnerCommand.execute(args));
        }
        application().run(args);
    }

    /** The application with the packaged defaults applied; tests start it the same way. */
    public static SpringApplication application() {
        SpringApplication application = new SpringApplication(BeaconRunnerApplication.class);
        application.setDefaultProperties(defaults());
        return application;
    }

    static Map<String, Object> defaults() {
        ClassPathResource resource = new ClassPathResource(DEFAULTS);
        Map<String, Object> values = new LinkedHashMap<>();
        if (!resource.exists()) {
            return values;
        }
        try {
            for (PropertySource<?> source : new YamlPropertySourceLoader().load("beacon-runner-defaults", resource)) {
                if (source instanceof EnumerablePropertySource<?> e) {
                    for (String name : e.getPropertyNames()) {
                        values.putIfAbsent(name, e.getProperty(name));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("could not read " + DEFAULTS, e);
        }
        return values;
    }
}
