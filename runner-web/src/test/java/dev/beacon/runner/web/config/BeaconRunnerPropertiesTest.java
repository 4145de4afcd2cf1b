package dev.beacon.runner.web.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.beacon.runner.core.analysis.AnalysisSettings;
import dev.beacon.runner.core.dispatch.DispatcherSettings;
import dev.beacon.runner.core.endpoint.EndpointCatalog;
import dev.beacon.runner.core.endpoint.ProviderConfig;
import dev.beacon.runner.core.endpoint.ProviderType;
import dev.beacon.runner.core.engine.ReceiptSigner;
import dev.beacon.runner.core.spec.JobDefaults;
import dev.beacon.runner.core.spec.SubmissionLimits;
import java.net.URI;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.context.properties.bind.BindException;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.context.properties.source.MapConfigurationPropertySource;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Binding {@code beacon.runner.*} into the records: defaults, Boot's conversions, and start-up failures
 * that name the offending property, both for a constraint on one property and for a rule of the core.
 */
class BeaconRunnerPropertiesTest {

    private final ApplicationContextRunner contexts = new ApplicationContextRunner()
            .withUserConfiguration(EveryMapping.class)
            .withPropertyValues(
                    "beacon.runner.endpoints[0].model=m1", "beacon.runner.endpoints[0].region=eu",
                    "beacon.runner.endpoints[0].providers[0].id=p1",
                    "beacon.runner.endpoints[1].model=m1", "beacon.runner.endpoints[1].region=us",
                    "beacon.runner.endpoints[1].providers[0].id=p2");

    @Test
    void withoutPropertiesEveryValueIsTheDocumentedDefault() {
        BeaconRunnerProperties properties = new Binder().bindOrCreate("beacon.runner", BeaconRunnerProperties.class);

        assertThat(properties.endpoints()).isEmpty();
        assertThat(properties.toJobDefaults()).isEqualTo(JobDefaults.DEFAULT);
        assertThat(properties.toSubmissionLimits()).isEqualTo(SubmissionLimits.DEFAULT);
        assertThat(properties.toAnalysisSettings()).isEqualTo(AnalysisSettings.DEFAULT);
        assertThat(properties.security().tokens()).isEmpty();
        assertThat(properties.security().openReads()).isTrue();
        assertThat(properties.web()).isEqualTo(new BeaconRunnerProperties.Web(true, "", Duration.ofSeconds(15)));
        assertThat(properties.dispatcher()).isEqualTo(new BeaconRunnerProperties.Dispatcher(true, null, 32, Duration.ofSeconds(30),
                Duration.ofSeconds(10), Duration.ofSeconds(5), Duration.ofSeconds(20)));
        assertThat(properties.persistence()).isEqualTo(new BeaconRunnerProperties.Persistence(true, null, Duration.ofSeconds(10),
                "./data/beacon", Duration.ofSeconds(1)));
        assertThat(properties.receipts()).isEqualTo(new BeaconRunnerProperties.Receipts(null, null));
        assertThat(properties.toReceiptSigner()).isEmpty();

        BeaconRunnerProperties.Provider provider = new Binder().bindOrCreate("provider", BeaconRunnerProperties.Provider.class);
        assertThat(provider.type()).isEqualTo("simulated");
        assertThat(provider.maxConcurrency()).isEqualTo(4);
        assertThat(provider.timeout()).isEqualTo(Duration.ofMinutes(2));
        assertThat(provider.recordHeaders()).isEqualTo(ProviderConfig.DEFAULT_RECORD_HEADERS);
        assertThat(provider.adaptive()).isFalse();
    }

    @Test
    void theBoundEndpointsBecomeTheCatalog() {
        contexts.withPropertyValues("beacon.runner.endpoints[1].providers[0].type=openai",
                        "beacon.runner.endpoints[1].providers[0].url= https://example.org/v1 ",
                        "beacon.runner.endpoints[1].providers[0].api-key= ",
                        "beacon.runner.endpoints[1].providers[0].record-headers=x-request-id,X-Served-By",
                        "beacon.runner.endpoints[1].providers[0].adaptive=true",
                        "beacon.runner.endpoints[0].providers[0].url=")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    List<ProviderConfig> providers = context.getBean(EndpointCatalog.class).endpoints().stream()
                            .flatMap(e -> e.providers().stream()).toList();
                    assertThat(providers).extracting(ProviderConfig::type).containsExactly(ProviderType.SIMULATED, ProviderType.OPENAI);
                    assertThat(providers.get(0).url()).isNull();
                    ProviderConfig remote = providers.get(1);
                    assertThat(remote.url()).isEqualTo(URI.create("https://example.org/v1"));
                    assertThat(remote.hasApiKey()).isFalse();
                    assertThat(remote.recordHeaders()).containsExactly("x-request-id", "x-served-by");
                    assertThat(remote.adaptive()).isTrue();
                });
    }

    @Test
    void durationsAndSizesTakeBootsFormats() {
        contexts.withPropertyValues("beacon.runner.defaults.execution-timeout=90s", "beacon.runner.defaults.job-timeout=PT1H",
                        "beacon.runner.limits.max-body-bytes=2MB", "beacon.runner.dispatcher.lease=60000")
                .run(context -> {
                    assertThat(context).hasNotFailed();
                    JobDefaults defaults = context.getBean(JobDefaults.class);
                    assertThat(defaults.limits().executionTimeout()).isEqualTo(Duration.ofSeconds(90));
                    assertThat(defaults.limits().jobTimeout()).isEqualTo(Duration.ofHours(1));
                    assertThat(context.getBean(SubmissionLimits.class).maxBodyBytes()).isEqualTo(2 * 1024 * 1024);
                    assertThat(context.getBean(DispatcherSettings.class).lease()).isEqualTo(Duration.ofMinutes(1));
                });
        contexts.withPropertyValues("beacon.runner.limits.max-body-bytes=4096")
                .run(context -> assertThat(context.getBean(SubmissionLimits.class).maxBodyBytes()).isEqualTo(4096));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '=', value = {
            "beacon.runner.defaults.concurrency=0",
            "beacon.runner.defaults.execution-timeout=0s",
            "beacon.runner.defaults.max-attempts=11",
            "beacon.runner.defaults.min-success-rate=-0.1",
            "beacon.runner.limits.max-questions=0",
            "beacon.runner.limits.max-question-chars=-1",
            "beacon.runner.dispatcher.capacity=0",
            "beacon.runner.dispatcher.lease=0s",
            "beacon.runner.dispatcher.poll-interval=-1s",
            "beacon.runner.dispatcher.shutdown-timeout=-1s",
            "beacon.runner.persistence.timeout=0s",
            "beacon.runner.persistence.health-timeout=0ms",
            "beacon.runner.web.sse-keep-alive=0s",
            "beacon.runner.analysis.alpha=0",
            "beacon.runner.endpoints[0].providers[0].timeout=0s",
            "beacon.runner.endpoints[0].providers[0].latency=-1s",
            "beacon.runner.endpoints[0].providers[0].failure-rate=1.5",
            "beacon.runner.endpoints[1].providers[0].max-concurrency=10001"})
    void aValueOutsideItsConstraintFailsStartUpNamingTheProperty(String property, String value) {
        contexts.withPropertyValues(property + "=" + value).run(context ->
                assertThat(failure(context).getName()).isEqualTo(property));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "beacon.runner.dispatcher.heartbeat=PT15S | beacon.runner.dispatcher.heartbeat | at most a third of the lease",
            "beacon.runner.endpoints[0].providers[0].jitter=PT1S | beacon.runner.endpoints[0].providers[0].jitter | between 0 and latency",
            "beacon.runner.limits.max-body-bytes=3GB | beacon.runner.limits.max-body-bytes | below 2 GiB",
            "beacon.runner.receipts.private-key=MC4CAQAwBQYDK2VwBCIEIA | beacon.runner.receipts.public-key | both receipt keys",
            "beacon.runner.endpoints[1].model=two words | beacon.runner.endpoints[1].model | model must be"})
    void aValueTheCoreRejectsFailsStartUpNamingTheProperty(String setting, String property, String reason) {
        contexts.withPropertyValues(setting).run(context -> {
            InvalidConfigurationPropertyValueException failure = failure(context);
            assertThat(failure.getName()).isEqualTo(property);
            assertThat(failure.getReason()).contains(reason);
        });
    }

    @Test
    void everyViolationIsReportedTheFirstByName() {
        contexts.withPropertyValues("beacon.runner.dispatcher.capacity=0", "beacon.runner.defaults.max-attempts=0",
                        "beacon.runner.defaults.concurrency=0")
                .run(context -> {
                    InvalidConfigurationPropertyValueException failure = failure(context);
                    assertThat(failure.getName()).isEqualTo("beacon.runner.defaults.concurrency");
                    assertThat(failure.getReason()).isEqualTo("must be between 1 and 256");
                    assertThat(Arrays.stream(failure.getSuppressed()).map(e -> ((InvalidConfigurationPropertyValueException) e).getName()))
                            .containsExactly("beacon.runner.defaults.max-attempts", "beacon.runner.dispatcher.capacity");
                });
    }

    @Test
    void aUrlThatIsNoUriFailsStartUpNamingTheProperty() {
        contexts.withPropertyValues("beacon.runner.endpoints[1].providers[0].type=openai",
                        "beacon.runner.endpoints[1].providers[0].url=http://[::1")
                .run(context -> {
                    assertThat(context).hasFailed();
                    Throwable cause = context.getStartupFailure();
                    while (cause != null && !(cause instanceof BindException)) {
                        cause = cause.getCause();
                    }
                    assertThat(cause).isInstanceOf(BindException.class);
                    assertThat(((BindException) cause).getName()).hasToString("beacon.runner.endpoints[1].providers[0].url");
                });
    }

    @Test
    void secretsStayOutOfTheTextOfTheProperties() {
        BeaconRunnerProperties properties = new Binder(new MapConfigurationPropertySource(Map.of(
                "beacon.runner.endpoints[0].model", "m1", "beacon.runner.endpoints[0].region", "eu",
                "beacon.runner.endpoints[0].providers[0].id", "p1",
                "beacon.runner.endpoints[0].providers[0].api-key", "sk-provider-secret",
                "beacon.runner.security.tokens[0]", "api-token-secret",
                "beacon.runner.receipts.private-key", "private-key-secret")))
                .bindOrCreate("beacon.runner", BeaconRunnerProperties.class);

        assertThat(properties.endpoints().get(0).providers().get(0).apiKey()).isEqualTo("sk-provider-secret");
        assertThat(properties.toString()).contains("p1", "tokens=1 configured")
                .doesNotContain("sk-provider-secret", "api-token-secret", "private-key-secret");
    }

    @Test
    void aReceiptKeyThatCannotBeReadFailsWithoutShowingIt() {
        BeaconRunnerProperties properties = new Binder(new MapConfigurationPropertySource(Map.of(
                "beacon.runner.receipts.private-key", "private-key-secret", "beacon.runner.receipts.public-key", "public-key")))
                .bindOrCreate("beacon.runner", BeaconRunnerProperties.class);

        assertThatThrownBy(properties::toReceiptSigner).isInstanceOfSatisfying(InvalidConfigurationPropertyValueException.class,
                e -> {
                    assertThat(e.getName()).isEqualTo("beacon.runner.receipts.private-key");
                    assertThat(e.getMessage()).doesNotContain("private-key-secret");
                });
    }

    private static InvalidConfigurationPropertyValueException failure(AssertableApplicationContext context) {
        assertThat(context).hasFailed();
        Throwable cause = context.getStartupFailure();
        while (cause != null && !(cause instanceof InvalidConfigurationPropertyValueException)) {
            cause = cause.getCause();
        }
        assertThat(cause).as("an InvalidConfigurationPropertyValueException in %s", context.getStartupFailure())
                .isInstanceOf(InvalidConfigurationPropertyValueException.class);
        return (InvalidConfigurationPropertyValueException) cause;
    }

    /** Every conversion of the properties as a bean, so that each of them runs at start-up. */
    @Configuration(proxyBeanMethods = false)
    @EnableConfigurationProperties(BeaconRunnerProperties.class)
    static class EveryMapping {

        @Bean
        EndpointCatalog catalog(BeaconRunnerProperties properties) {
            return properties.toEndpointCatalog();
        }

        @Bean
        JobDefaults jobDefaults(BeaconRunnerProperties properties) {
            return properties.toJobDefaults();
        }

        @Bean
        SubmissionLimits submissionLimits(BeaconRunnerProperties properties) {
            return properties.toSubmissionLimits();
        }

        @Bean
        DispatcherSettings dispatcherSettings(BeaconRunnerProperties properties) {
            return properties.toDispatcherSettings("test-instance");
        }

        @Bean
        AnalysisSettings analysisSettings(BeaconRunnerProperties properties) {
            return properties.toAnalysisSettings();
        }

        @Bean
        ReceiptSigner receiptSigner(BeaconRunnerProperties properties) {
            return properties.toReceiptSigner().orElseGet(ReceiptSigner::ephemeral);
        }
    }
}
