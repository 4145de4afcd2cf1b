package dev.beacon.runner.web.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.web.http.ActuatorTokenAuthentication;
import dev.beacon.runner.web.testing.RunnerContexts;
import net.bytebuddy.ByteBuddy;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ReactiveWebApplicationContextRunner;

/**
 * The class conditions of {@link RunnerWebAutoConfiguration}'s Actuator tokens: installed with Spring
 * Security's core ({@code @ConditionalOnClass}) unless the host has Spring Security's web support
 * ({@code @ConditionalOnMissingClass}), whose filter chain then decides authentication. The runner's
 * routes are there in every case.
 */
class RunnerWebAutoConfigurationClassConditionsTest {

    private static final String SECURITY_CORE = "org.springframework.security.core.context.ReactiveSecurityContextHolder";
    private static final String SECURITY_WEB = "org.springframework.security.web.server.SecurityWebFilterChain";

    private final ReactiveWebApplicationContextRunner host = RunnerContexts.hostWithDatabase();

    @Test
    void withSecurityCoreAndWithoutSecurityWebTheRunnersTokensAuthenticateActuatorCallers() {
        host.run(context -> assertThat(context).hasNotFailed()
                .hasSingleBean(RunnerWebAutoConfiguration.ActuatorTokens.class)
                .hasSingleBean(ActuatorTokenAuthentication.class)
                .hasBean("beaconActuatorTokenAuthentication")
                .hasBean("beaconRunnerRoutes"));
    }

    @Test
    void withoutSecurityCoreTheActuatorTokensBackOff() {
        host.withClassLoader(new FilteredClassLoader(SECURITY_CORE)).run(context -> assertThat(context).hasNotFailed()
                .doesNotHaveBean(RunnerWebAutoConfiguration.ActuatorTokens.class)
                .doesNotHaveBean(ActuatorTokenAuthentication.class)
                .hasBean("beaconRunnerRoutes"));
    }

    @Test
    void withSecurityWebTheActuatorTokensBackOffForTheHostsFilterChain() {
        host.withClassLoader(withEmptyInterface(SECURITY_WEB)).run(context -> assertThat(context).hasNotFailed()
                .doesNotHaveBean(RunnerWebAutoConfiguration.ActuatorTokens.class)
                .doesNotHaveBean(ActuatorTokenAuthentication.class)
                .hasBean("beaconRunnerRoutes"));
    }

    /**
     * The test class path has no Spring Security web support (adding it would change every other web
     * test), and a FilteredClassLoader can only hide classes: this loader adds {@code name}, an empty
     * interface, which is all a class condition looks at.
     */
    private static ClassLoader withEmptyInterface(String name) {
        byte[] bytes = new ByteBuddy().makeInterface().name(name).make().getBytes();
        return new ClassLoader(RunnerWebAutoConfigurationClassConditionsTest.class.getClassLoader()) {
            @Override
            protected Class<?> findClass(String className) throws ClassNotFoundException {
                return className.equals(name) ? defineClass(className, bytes, 0, bytes.length) : super.findClass(className);
            }
        };
    }
}
