package dev.beacon.runner.web.config;

import dev.beacon.runner.core.analysis.AnalysisSettings;
import dev.beacon.runner.core.dispatch.DispatcherSettings;
import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.endpoint.EndpointCatalog;
import dev.beacon.runner.core.endpoint.EndpointConfig;
import dev.beacon.runner.core.endpoint.ProviderConfig;
import dev.beacon.runner.core.endpoint.ProviderType;
import dev.beacon.runner.core.endpoint.SimulationSettings;
import dev.beacon.runner.core.engine.ReceiptSigner;
import dev.beacon.runner.core.spec.InferenceParams;
import dev.beacon.runner.core.spec.JobDefaults;
import dev.beacon.runner.core.spec.JobLimits;
import dev.beacon.runner.core.spec.SubmissionLimits;
import dev.beacon.runner.web.config.BeaconRunnerProperties.Analysis;
import dev.beacon.runner.web.config.BeaconRunnerProperties.Defaults;
import dev.beacon.runner.web.config.BeaconRunnerProperties.Dispatcher;
import dev.beacon.runner.web.config.BeaconRunnerProperties.Endpoint;
import dev.beacon.runner.web.config.BeaconRunnerProperties.Limits;
import dev.beacon.runner.web.config.BeaconRunnerProperties.Provider;
import dev.beacon.runner.web.config.BeaconRunnerProperties.Receipts;
import dev.beacon.runner.web.config.BeaconRunnerProperties.Security;
import jakarta.validation.ConstraintViolation;
import jakarta.validation.MessageInterpolator;
import jakarta.validation.Validation;
import jakarta.validation.Validator;
import java.net.URI;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.bind.DataObjectPropertyName;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.validation.MessageInterpolatorFactory;

/**
 * Turns the bound {@link BeaconRunnerProperties} into the core's value objects, and every bad value
 * into an {@link InvalidConfigurationPropertyValueException} that names the property as it is written
 * in configuration ({@code beacon.runner.endpoints[2].providers[0].max-concurrency}). The one place
 * where properties meet the core.
 *
 * <p>Rules about one property alone are the Bean Validation constraints on the records' components,
 * checked by {@link #validate}: for all of them once they are bound, and again for the part each
 * conversion reads, so that a conversion never blames a rule of the core for a constraint's failure.
 * Rules the core owns are checked by constructing the core's records, whose
 * {@link IllegalArgumentException} is reported against the property it is about.
 *
 * <p>The constraints are checked here rather than by {@code @Validated}: Spring Boot's binder would
 * report them as a {@code BindValidationException} on the object {@code beacon.runner} with the field
 * {@code endpoints[2].providers[0].maxConcurrency}, which is neither the property's name nor the
 * exception the rest of the runner's configuration failures are.
 */
final class PropertiesMapping {

    static final String PREFIX = "beacon.runner";

    private PropertiesMapping() {
    }

    /**
     * Checks every constraint of {@code part}, the properties bound under {@code path}.
     *
     * @throws InvalidConfigurationPropertyValueException naming the first offending property (by name);
     *                                                    the others are suppressed exceptions of it
     */
    static void validate(Object part, String path) {
        List<ConstraintViolation<Object>> violations = Constraints.VALIDATOR.validate(part).stream()
                .sorted(Comparator.comparing(violation -> violation.getPropertyPath().toString()))
                .toList();
        InvalidConfigurationPropertyValueException first = null;
        for (ConstraintViolation<Object> violation : violations) {
            String property = path + "." + DataObjectPropertyName.toDashedForm(violation.getPropertyPath().toString());
            InvalidConfigurationPropertyValueException failure = invalid(property, violation.getInvalidValue(), violation.getMessage());
            if (first == null) {
                first = failure;
            } else {
                first.addSuppressed(failure);
            }
        }
        if (first != null) {
            throw first;
        }
    }

    static EndpointCatalog endpointCatalog(List<@Nullable Endpoint> endpoints) {
        List<EndpointConfig> configs = new ArrayList<>();
        for (int i = 0; i < endpoints.size(); i++) {
            Endpoint e = endpoints.get(i);
            String path = PREFIX + ".endpoints[" + i + "]";
            if (e == null) {
                throw invalid(path, null, "must be an endpoint {model, region, providers}");
            }
            validate(e, path);
            EndpointId id;
            try {
                id = endpointId(e);
            } catch (IllegalArgumentException ex) {
                boolean region = ex.getMessage() != null && ex.getMessage().startsWith("region");
                throw invalid(path + (region ? ".region" : ".model"), region ? e.region() : e.model(), ex.getMessage());
            }
            if (e.providers().isEmpty()) {
                throw invalid(path + ".providers", "[]", "endpoint " + id + " must have at least one provider");
            }
            List<ProviderConfig> providers = new ArrayList<>();
            for (int j = 0; j < e.providers().size(); j++) {
                providers.add(provider(path + ".providers[" + j + "]", e.providers().get(j)));
            }
            configs.add(convert(path, id.toString(), () -> new EndpointConfig(id, providers)));
        }
        return convert(PREFIX + ".endpoints", configs.size() + " endpoints", () -> new EndpointCatalog(configs));
    }

    /**
     * The endpoint's id, its names checked by the core. Either may be unset ({@code null}) in configuration:
     * {@link EndpointId} rejects that with the {@link IllegalArgumentException} that {@link #endpointCatalog}
     * reports against the property.
     */
    // Suppressed: the bound names may be null and are handed to EndpointId's own check on purpose.
    @SuppressWarnings("NullAway")
    private static EndpointId endpointId(Endpoint e) {
        return new EndpointId(e.model(), e.region());
    }

    private static ProviderConfig provider(String path, @Nullable Provider p) {
        if (p == null) {
            throw invalid(path, null, "must be a provider {id, type, url, …}");
        }
        ProviderType type = convert(path + ".type", p.type(), () -> ProviderType.parse(p.type()));
        // Boot has converted the text already: trimmed, and a blank one is no URL.
        URI url = p.url();
        if (type != ProviderType.SIMULATED && url == null) {
            throw invalid(path + ".url", null, "a provider of type " + type.id() + " must have a url");
        }
        if (url != null && !("http".equals(url.getScheme()) || "https".equals(url.getScheme()))) {
            throw invalid(path + ".url", url, "must be an http or https URL");
        }
        // Past the constraints, what the core can still reject here is a jitter larger than the latency.
        SimulationSettings simulation = convert(path + ".jitter", p.jitter(),
                () -> new SimulationSettings(p.latency(), p.jitter(), p.failureRate()));
        String apiKey = blankToNull(p.apiKey());
        String remoteModel = blankToNull(p.remoteModel());
        // The api key is never part of a failure message: the value reported is the provider id.
        // Suppressed: an unset id (null) is handed to ProviderConfig's own check on purpose; convert reports its
        // IllegalArgumentException against the property.
        @SuppressWarnings("NullAway")
        Supplier<ProviderConfig> config = () -> new ProviderConfig(p.id(), type, url, apiKey, remoteModel,
                p.maxConcurrency(), p.timeout(), simulation, p.recordHeaders(), p.adaptive());
        return convert(path + ".id", p.id(), config);
    }

    static JobDefaults jobDefaults(Defaults d) {
        String path = PREFIX + ".defaults";
        validate(d, path);
        JobLimits jobLimits = convert(path, "concurrency=" + d.concurrency() + ", execution-timeout=" + d.executionTimeout()
                        + ", job-timeout=" + d.jobTimeout() + ", max-attempts=" + d.maxAttempts(),
                () -> new JobLimits(d.concurrency(), d.executionTimeout(), d.jobTimeout(), d.maxAttempts()));
        return convert(path + ".min-success-rate", d.minSuccessRate(),
                () -> new JobDefaults(InferenceParams.DEFAULT, jobLimits, d.minSuccessRate()));
    }

    static SubmissionLimits submissionLimits(Limits l) {
        String path = PREFIX + ".limits";
        validate(l, path);
        long maxBodyBytes = l.maxBodyBytes().toBytes();
        if (maxBodyBytes > Integer.MAX_VALUE - 8) {
            throw invalid(path + ".max-body-bytes", maxBodyBytes, "must be below 2 GiB");
        }
        return convert(path, "max-questions=" + l.maxQuestions() + ", max-question-chars=" + l.maxQuestionChars()
                        + ", max-body-bytes=" + maxBodyBytes,
                () -> new SubmissionLimits(l.maxQuestions(), l.maxQuestionChars(), maxBodyBytes));
    }

    static DispatcherSettings dispatcherSettings(Dispatcher d, String instanceId) {
        validate(d, PREFIX + ".dispatcher");
        // Past the constraints, what the core can still reject is a heartbeat above a third of the lease.
        return convert(PREFIX + ".dispatcher.heartbeat", d.heartbeat(),
                () -> new DispatcherSettings(instanceId, d.capacity(), d.lease(), d.heartbeat(), d.pollInterval()));
    }

    static AnalysisSettings analysisSettings(Analysis a) {
        validate(a, PREFIX + ".analysis");
        return convert(PREFIX + ".analysis", "alpha=" + a.alpha() + ", permutations=" + a.permutations(),
                () -> new AnalysisSettings(a.alpha(), a.permutations()));
    }

    static Optional<ReceiptSigner> receiptSigner(Receipts r) {
        String privateKey = blankToNull(r.privateKey());
        String publicKey = blankToNull(r.publicKey());
        if (privateKey == null && publicKey == null) {
            return Optional.empty();
        }
        if (privateKey == null || publicKey == null) {
            String missing = PREFIX + (privateKey != null ? ".receipts.public-key" : ".receipts.private-key");
            throw invalid(missing, null, "both receipt keys must be set, or neither");
        }
        try {
            return Optional.of(ReceiptSigner.fromBase64(privateKey, publicKey));
        } catch (IllegalArgumentException e) {
            // The key itself is never echoed.
            throw invalid(PREFIX + ".receipts.private-key", "(hidden)", e.getMessage());
        }
    }

    static List<String> effectiveTokens(Security security) {
        return security.tokens().stream().filter(t -> t != null && !t.isBlank()).map(String::strip).toList();
    }

    private static @Nullable String blankToNull(@Nullable String value) {
        return value == null || value.isBlank() ? null : value;
    }

    private static <T> T convert(String property, @Nullable Object value, Supplier<T> conversion) {
        try {
            return conversion.get();
        } catch (IllegalArgumentException | NullPointerException e) {
            throw invalid(property, value, e.getMessage());
        }
    }

    private static InvalidConfigurationPropertyValueException invalid(String property, @Nullable Object value, @Nullable String reason) {
        return new InvalidConfigurationPropertyValueException(property, value, Objects.toString(reason, "invalid value"));
    }

    /** One validator for every context of the process; its messages are the English ones, whatever the default locale. */
    private static final class Constraints {

        static final Validator VALIDATOR = Validation.byDefaultProvider().configure()
                .messageInterpolator(inRootLocale(new MessageInterpolatorFactory().getObject()))
                .buildValidatorFactory()
                .getValidator();

        private static MessageInterpolator inRootLocale(MessageInterpolator delegate) {
            return new MessageInterpolator() {
                @Override
                public String interpolate(String template, Context context) {
                    return delegate.interpolate(template, context, Locale.ROOT);
                }

                @Override
                public String interpolate(String template, Context context, Locale locale) {
                    return delegate.interpolate(template, context, Locale.ROOT);
                }
            };
        }
    }
}
