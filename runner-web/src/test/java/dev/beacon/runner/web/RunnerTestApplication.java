package dev.beacon.runner.web;

import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;

/** A host application with nothing of its own: everything the tests exercise comes from the runner's auto-configurations. */
@SpringBootConfiguration
@EnableAutoConfiguration
public class RunnerTestApplication {
}
