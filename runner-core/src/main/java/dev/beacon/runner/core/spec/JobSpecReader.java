package dev.beacon.runner.core.spec;

import dev.beacon.runner.core.domain.Question;
import dev.beacon.runner.core.endpoint.EndpointCatalog;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import tools.jackson.core.JacksonException;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Turns a submitted JSON body into a {@link JobSpec} with every default applied, or rejects it with
 * one {@link FieldError} per offending field ({@code models[1].regions[0]}: "unknown region 'mars';
 * configured: us, eu, asia"). All errors are collected, not just the first.
 *
 * <p>Models and regions are checked against the configured {@link EndpointCatalog}: a job can only
 * ask endpoints this runner knows.
 *
 * <p>About 440 lines because it is the whole of the submission contract's validation, field by
 * field, so that every rule and its message can be read (and compared with the README's "API") in
 * one place; each field's check is a short method of its own.
 */
public final class JobSpecReader {

    private static final Set<String> TOP_LEVEL = Set.of("name", "questions", "models", "samples", "params", "limits", "minSuccessRate", "metadata");
    private static final Set<String> QUESTION_FIELDS = Set.of("id", "text");
    private static final Set<String> MODEL_FIELDS = Set.of("id", "regions");
    private static final Set<String> PARAM_FIELDS = Set.of("temperature", "maxTokens", "seed", "systemPrompt");
    private static final Set<String> LIMIT_FIELDS = Set.of("concurrency", "executionTimeout", "jobTimeout", "maxAttempts");
    private static final int MAX_NAME_CHARS = 200;
    private static final int MAX_ID_CHARS = 128;
    private static final Duration MAX_EXECUTION_TIMEOUT = Duration.ofHours(1);
    private static final Duration MAX_JOB_TIMEOUT = Duration.ofDays(7);

    private final EndpointCatalog catalog;
    private final JobDefaults defaults;
    private final SubmissionLimits limits;
    private final JsonMapper mapper;

    public JobSpecReader(EndpointCatalog catalog, JobDefaults defaults, SubmissionLimits limits) {
        this.catalog = Objects.requireNonNull(catalog, "catalog");
        this.defaults = Objects.requireNonNull(defaults, "defaults");
        this.limits = Objects.requireNonNull(limits, "limits");
        this.mapper = JsonMapper.builder()
                .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .build();
    }

    /**
     * Parses and validates a JSON body.
     *
     * @throws SpecValidationException naming every offending field; field {@code $} for a body that
     *                                 is not a JSON object at all
     */
    public JobSpec read(String json) {
        JsonNode root;
        try {
            root = mapper.readTree(json);
        } catch (JacksonException e) {
            throw new SpecValidationException(List.of(new FieldError("$", "malformed JSON: " + e.getOriginalMessage())));
        }
        return read(root);
    }

    /** Validates an already parsed body; see {@link #read(String)}. */
    public JobSpec read(@Nullable JsonNode root) {
        Errors errors = new Errors();
        if (root == null || root.isMissingNode() || !root.isObject()) {
            errors.add("$", "must be a JSON object, but was " + kind(root));
            throw errors.toException();
        }
        for (String field : root.propertyNames()) {
            if (!TOP_LEVEL.contains(field)) {
                errors.add(field, "unknown field; allowed: " + String.join(", ", sorted(TOP_LEVEL)));
            }
        }
        String name = readName(root.get("name"), errors);
        List<Question> questions = readQuestions(root.get("questions"), errors);
        List<ModelSelection> models = readModels(root.get("models"), errors);
        int samples = (int) integer(root.get("samples"), "samples", 1, JobSpec.MAX_SAMPLES, 1, errors);
        InferenceParams params = readParams(root.get("params"), errors);
        JobLimits jobLimits = readLimits(root.get("limits"), errors);
        double minSuccessRate = readRate(root.get("minSuccessRate"), errors);
        Map<String, Object> metadata = readMetadata(root.get("metadata"), errors);
        if (!errors.isEmpty()) {
            throw errors.toException();
        }
        // readName gives null only after adding an error.
        return new JobSpec(Objects.requireNonNull(name, "name"), questions, models, params, jobLimits, minSuccessRate, metadata, samples);
    }

    private @Nullable String readName(@Nullable JsonNode node, Errors errors) {
        if (node == null || absent(node)) {
            return "untitled";
        }
        if (!node.isString()) {
            errors.add("name", "must be a string, but was " + kind(node));
            return null;
        }
        String name = node.stringValue().strip();
        if (name.isEmpty() || name.length() > MAX_NAME_CHARS) {
            errors.add("name", "must be 1-" + MAX_NAME_CHARS + " characters, but was " + name.length());
        }
        return name;
    }

    private List<Question> readQuestions(@Nullable JsonNode node, Errors errors) {
        List<Question> result = new ArrayList<>();
        if (node == null || absent(node)) {
            errors.add("questions", "is required");
            return result;
        }
        if (!node.isArray()) {
            errors.add("questions", "must be an array, but was " + kind(node));
            return result;
        }
        if (node.isEmpty()) {
            errors.add("questions", "must not be empty");
            return result;
        }
        if (node.size() > limits.maxQuestions()) {
            errors.add("questions", "must have at most " + limits.maxQuestions() + " questions, but has " + node.size());
            return result;
        }
        Map<String, Integer> firstIndexById = new HashMap<>();
        for (int i = 0; i < node.size(); i++) {
            String path = "questions[" + i + "]";
            JsonNode q = node.get(i);
            if (!q.isObject()) {
                errors.add(path, "must be an object {id, text}, but was " + kind(q));
                continue;
            }
            unknownFields(q, QUESTION_FIELDS, path, errors);
            String id = requiredString(q.get("id"), path + ".id", MAX_ID_CHARS, errors);
            String text = requiredString(q.get("text"), path + ".text", limits.maxQuestionChars(), errors);
            if (id != null) {
                Integer first = firstIndexById.putIfAbsent(id, i);
                if (first != null) {
                    errors.add(path + ".id", "duplicate question id '" + id + "' (also questions[" + first + "])");
                    continue;
                }
            }
            if (id != null && text != null) {
                result.add(new Question(id, text));
            }
        }
        return result;
    }

    private List<ModelSelection> readModels(@Nullable JsonNode node, Errors errors) {
        List<ModelSelection> result = new ArrayList<>();
        if (node == null || absent(node)) {
            errors.add("models", "is required");
            return result;
        }
        if (!node.isArray()) {
            errors.add("models", "must be an array, but was " + kind(node));
            return result;
        }
        if (node.isEmpty()) {
            errors.add("models", "must not be empty");
            return result;
        }
        Set<String> seenModels = new LinkedHashSet<>();
        for (int i = 0; i < node.size(); i++) {
            String path = "models[" + i + "]";
            JsonNode m = node.get(i);
            if (!m.isObject()) {
                errors.add(path, "must be an object {id, regions}, but was " + kind(m));
                continue;
            }
            unknownFields(m, MODEL_FIELDS, path, errors);
            String id = requiredString(m.get("id"), path + ".id", MAX_ID_CHARS, errors);
            if (id == null) {
                continue;
            }
            if (!catalog.hasModel(id)) {
                errors.add(path + ".id", "unknown model '" + id + "'; configured: " + String.join(", ", catalog.models()));
                continue;
            }
            if (!seenModels.add(id)) {
                errors.add(path + ".id", "model '" + id + "' is listed twice");
                continue;
            }
            List<String> regions = readRegions(m.get("regions"), id, path + ".regions", errors);
            if (regions != null) {
                result.add(new ModelSelection(id, regions));
            }
        }
        return result;
    }

    private @Nullable List<String> readRegions(@Nullable JsonNode node, String model, String path, Errors errors) {
        List<String> configured = catalog.regionsOf(model);
        if (node == null || absent(node)) {
            // Leaving regions out asks every region the model is served in.
            return configured;
        }
        if (!node.isArray()) {
            errors.add(path, "must be an array of region names, but was " + kind(node));
            return null;
        }
        if (node.isEmpty()) {
            errors.add(path, "must not be empty; configured for " + model + ": " + String.join(", ", configured));
            return null;
        }
        List<String> regions = new ArrayList<>();
        boolean ok = true;
        for (int j = 0; j < node.size(); j++) {
            JsonNode r = node.get(j);
            String rPath = path + "[" + j + "]";
            if (!r.isString()) {
                errors.add(rPath, "must be a string, but was " + kind(r));
                ok = false;
            } else if (!configured.contains(r.stringValue())) {
                errors.add(rPath, "unknown region '" + r.stringValue() + "' for model " + model + "; configured: " + String.join(", ", configured));
                ok = false;
            } else if (regions.contains(r.stringValue())) {
                errors.add(rPath, "region '" + r.stringValue() + "' is listed twice");
                ok = false;
            } else {
                regions.add(r.stringValue());
            }
        }
        return ok ? regions : null;
    }

    private InferenceParams readParams(@Nullable JsonNode node, Errors errors) {
        InferenceParams d = defaults.params();
        if (node == null || absent(node)) {
            return d;
        }
        if (!node.isObject()) {
            errors.add("params", "must be an object, but was " + kind(node));
            return d;
        }
        unknownFields(node, PARAM_FIELDS, "params", errors);
        double temperature = number(node.get("temperature"), "params.temperature", 0, 2, d.temperature(), errors);
        int maxTokens = (int) integer(node.get("maxTokens"), "params.maxTokens", 1, 32_768, d.maxTokens(), errors);
        Long seed = d.seed();
        JsonNode seedNode = node.get("seed");
        if (seedNode != null) {
            if (seedNode.isNull()) {
                seed = null;
            } else if (!seedNode.isIntegralNumber() || !seedNode.canConvertToLong()) {
                errors.add("params.seed", "must be an integer or null, but was " + kind(seedNode));
            } else {
                seed = seedNode.longValue();
            }
        }
        String systemPrompt = d.systemPrompt();
        JsonNode sp = node.get("systemPrompt");
        if (sp != null) {
            if (sp.isNull()) {
                systemPrompt = null;
            } else if (!sp.isString()) {
                errors.add("params.systemPrompt", "must be a string or null, but was " + kind(sp));
            } else if (sp.stringValue().length() > limits.maxQuestionChars()) {
                errors.add("params.systemPrompt", "must be at most " + limits.maxQuestionChars() + " characters, but was " + sp.stringValue().length());
            } else {
                systemPrompt = sp.stringValue();
            }
        }
        return errors.isEmpty() ? new InferenceParams(temperature, maxTokens, seed, systemPrompt) : d;
    }

    private JobLimits readLimits(@Nullable JsonNode node, Errors errors) {
        JobLimits d = defaults.limits();
        if (node == null || absent(node)) {
            return d;
        }
        if (!node.isObject()) {
            errors.add("limits", "must be an object, but was " + kind(node));
            return d;
        }
        unknownFields(node, LIMIT_FIELDS, "limits", errors);
        int concurrency = (int) integer(node.get("concurrency"), "limits.concurrency", 1, 256, d.concurrency(), errors);
        Duration execution = duration(node.get("executionTimeout"), "limits.executionTimeout", MAX_EXECUTION_TIMEOUT, d.executionTimeout(), errors);
        Duration job = duration(node.get("jobTimeout"), "limits.jobTimeout", MAX_JOB_TIMEOUT, d.jobTimeout(), errors);
        int maxAttempts = (int) integer(node.get("maxAttempts"), "limits.maxAttempts", 1, 10, d.maxAttempts(), errors);
        return errors.isEmpty() ? new JobLimits(concurrency, execution, job, maxAttempts) : d;
    }

    private double readRate(@Nullable JsonNode node, Errors errors) {
        return number(node, "minSuccessRate", 0, 1, defaults.minSuccessRate(), errors);
    }

    private Map<String, Object> readMetadata(@Nullable JsonNode node, Errors errors) {
        if (node == null || absent(node)) {
            return Map.of();
        }
        if (!node.isObject()) {
            errors.add("metadata", "must be an object, but was " + kind(node));
            return Map.of();
        }
        if (node.size() > 64) {
            errors.add("metadata", "must have at most 64 entries, but has " + node.size());
            return Map.of();
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> values = mapper.convertValue(node, LinkedHashMap.class);
        return values;
    }

    private static @Nullable String requiredString(@Nullable JsonNode node, String path, int maxChars, Errors errors) {
        if (node == null || absent(node)) {
            errors.add(path, "is required");
            return null;
        }
        if (!node.isString()) {
            errors.add(path, "must be a string, but was " + kind(node));
            return null;
        }
        String value = node.stringValue();
        if (value.isBlank()) {
            errors.add(path, "must not be blank");
            return null;
        }
        if (value.length() > maxChars) {
            errors.add(path, "must be at most " + maxChars + " characters, but was " + value.length());
            return null;
        }
        return value;
    }

    private static double number(@Nullable JsonNode node, String path, double min, double max, double fallback, Errors errors) {
        if (node == null || absent(node)) {
            return fallback;
        }
        if (!node.isNumber()) {
            errors.add(path, "must be a number, but was " + kind(node));
            return fallback;
        }
        double value = node.doubleValue();
        if (!(value >= min && value <= max)) {
            errors.add(path, "must be between " + plain(min) + " and " + plain(max) + ", but was " + node.asString());
            return fallback;
        }
        return value;
    }

    private static long integer(@Nullable JsonNode node, String path, long min, long max, long fallback, Errors errors) {
        if (node == null || absent(node)) {
            return fallback;
        }
        if (!node.isIntegralNumber() || !node.canConvertToLong()) {
            errors.add(path, "must be an integer, but was " + kind(node));
            return fallback;
        }
        long value = node.longValue();
        if (value < min || value > max) {
            errors.add(path, "must be between " + min + " and " + max + ", but was " + value);
            return fallback;
        }
        return value;
    }

    private static Duration duration(@Nullable JsonNode node, String path, Duration max, Duration fallback, Errors errors) {
        if (node == null || absent(node)) {
            return fallback;
        }
        if (!node.isString()) {
            errors.add(path, "must be an ISO-8601 duration string such as \"PT2M\", but was " + kind(node));
            return fallback;
        }
        try {
            Duration value = Duration.parse(node.stringValue());
            if (value.isNegative() || value.isZero() || value.compareTo(max) > 0) {
                errors.add(path, "must be positive and at most " + max + ", but was " + node.stringValue());
                return fallback;
            }
            return value;
        } catch (DateTimeParseException e) {
            errors.add(path, "must be an ISO-8601 duration such as \"PT2M\", but was \"" + node.stringValue() + "\"");
            return fallback;
        }
    }

    private static void unknownFields(JsonNode node, Set<String> allowed, String path, Errors errors) {
        for (String field : node.propertyNames()) {
            if (!allowed.contains(field)) {
                errors.add(path + "." + field, "unknown field; allowed: " + String.join(", ", sorted(allowed)));
            }
        }
    }

    /** A JSON null or a missing node; a field left out, for which {@code get} gives {@code null}, is checked before. */
    private static boolean absent(JsonNode node) {
        return node.isNull() || node.isMissingNode();
    }

    private static String kind(@Nullable JsonNode node) {
        if (node == null || node.isMissingNode()) {
            return "nothing";
        }
        if (node.isNull()) {
            return "null";
        }
        if (node.isString()) {
            return "a string";
        }
        if (node.isBoolean()) {
            return "a boolean";
        }
        if (node.isIntegralNumber()) {
            return "an integer (" + node.asString() + ")";
        }
        if (node.isNumber()) {
            return "a number (" + node.asString() + ")";
        }
        if (node.isArray()) {
            return "an array";
        }
        return "an object";
    }

    private static String plain(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }

    private static List<String> sorted(Set<String> values) {
        return values.stream().sorted().toList();
    }

    private static final class Errors {
        private final List<FieldError> list = new ArrayList<>();

        void add(String field, String message) {
            list.add(new FieldError(field, message));
        }

        boolean isEmpty() {
            return list.isEmpty();
        }

        SpecValidationException toException() {
            return new SpecValidationException(list);
        }
    }
}
