package dev.beacon.runner.web;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/**
 * The standalone runner: {@code java -jar beacon-runner.jar} serves the API on port 8080 with the
 * embedded database and the simulated endpoints of {@code config/application.yaml}. Everything it
 * runs comes from the runner's auto-configurations, exactly as in a host application.
 */
@SpringBootApplication
public class BeaconRunnerApplication {

    public static void main(String[] args) {
        SpringApplication.run(BeaconRunnerApplication.class, args);
    }
}
