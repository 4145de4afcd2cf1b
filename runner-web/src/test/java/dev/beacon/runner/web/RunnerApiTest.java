package dev.beacon.runner.web;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.junit.jupiter.SpringExtension;

/**
 * A test of the runner's API through the real server on a random port ({@link RunnerTestApplication}),
 * whose constructor (or test method) takes a {@link RunnerClient} of that server: one client per test
 * instance, as a field set in {@code @BeforeEach} would be.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Documented
@SpringBootTest(classes = RunnerTestApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@ExtendWith(RunnerApiTest.Clients.class)
@interface RunnerApiTest {

    /** Resolves a {@link RunnerClient} parameter against the test's running server. */
    final class Clients implements ParameterResolver {

        @Override
        public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
            return parameter.getParameter().getType() == RunnerClient.class;
        }

        @Override
        public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
            Integer port = SpringExtension.getApplicationContext(context).getEnvironment().getProperty("local.server.port", Integer.class);
            if (port == null) {
                throw new IllegalStateException("the test's application has no server port (local.server.port)");
            }
            return new RunnerClient(port, "", null);
        }
    }
}
