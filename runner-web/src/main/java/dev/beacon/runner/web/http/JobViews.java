package dev.beacon.runner.web.http;

import dev.beacon.runner.core.domain.ExecutionCounts;
import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.engine.EndpointStatus;
import dev.beacon.runner.core.event.StoredEvent;
import dev.beacon.runner.core.json.JobJson;
import dev.beacon.runner.core.analysis.Comparison;
import dev.beacon.runner.core.service.EvidenceBundle;
import dev.beacon.runner.core.analysis.RunDrift;
import dev.beacon.runner.core.domain.RunnerKey;
import dev.beacon.runner.core.store.JobRecord;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.JsonNodeFactory;
import tools.jackson.databind.node.ObjectNode;

/**
 * Writes the JSON views of the README's API (job, execution), the event data of section 5, and the
 * endpoint and comparison views. Execution views and event data come from {@link JobJson}, the one
 * JSON form that storage also uses. The runner owns this JSON: it never goes through the host's
 * {@code JsonMapper}, so a host's Jackson settings (naming strategy, date format) cannot change the
 * contract. Links carry the configured base path.
 */
final class JobViews {

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private final JsonMapper mapper;
    private final JobJson json;
    private final String basePath;

    JobViews(String basePath) {
        this(JsonMapper.builder().build(), basePath);
    }

    private JobViews(JsonMapper mapper, String basePath) {
        this.mapper = mapper;
        this.json = new JobJson(mapper);
        this.basePath = basePath;
    }

    /**
     * The views as seen by this request: links and {@code Location} start with the application's
     * context path ({@code spring.webflux.base-path}, if the host sets one), then the runner's base path.
     */
    JobViews at(org.springframework.web.reactive.function.server.ServerRequest request) {
        String context = request.requestPath().contextPath().value();
        return context.isEmpty() ? this : new JobViews(mapper, context + basePath);
    }

    String jobPath(Object id) {
        return basePath + "/jobs/" + id;
    }

    String jobsPath() {
        return basePath + "/jobs";
    }

    ObjectNode job(JobRecord r) {
        ObjectNode node = NODES.objectNode();
        node.put("id", r.id().toString());
        node.put("name", r.name());
        node.put("status", r.status().name());
        node.put("createdAt", instant(r.createdAt()));
        node.put("startedAt", instant(r.startedAt()));
        node.put("finishedAt", instant(r.finishedAt()));
        node.put("questions", r.questions());
        node.put("endpoints", r.endpoints());
        node.put("samples", r.samples());
        node.put("cells", r.cells());
        node.put("retryOf", r.retryOf() == null ? null : r.retryOf().toString());
        node.set("counts", counts(r.counts()));
        if (r.currentQuestion() == null) {
            node.putNull("currentQuestion");
        } else {
            node.put("currentQuestion", r.currentQuestion().intValue());
        }
        String self = jobPath(r.id());
        node.putObject("links")
                .put("self", self)
                .put("events", self + "/events")
                .put("executions", self + "/executions")
                .put("comparison", self + "/comparison")
                .put("bundle", self + "/bundle");
        return node;
    }

    /** {@code GET /keys}: every key that ever signed here, as README, API lists them. */
    ObjectNode keys(List<RunnerKey> keys) {
        ObjectNode root = NODES.objectNode();
        ArrayNode array = root.putArray("keys");
        for (RunnerKey k : keys) {
            array.addObject().put("keyId", k.keyId()).put("algorithm", k.algorithm()).put("publicKey", k.publicKey())
                    .put("createdAt", instant(k.createdAt()));
        }
        return root;
    }

    /**
     * The evidence bundle of README, "Seals and bundles". Built only from stored values in a fixed order, so a
     * finished job's bundle is the same bytes on every call and every instance.
     */
    ObjectNode bundle(EvidenceBundle b) {
        ObjectNode root = NODES.objectNode().put("format", "beacon-bundle/1");
        JobRecord r = b.job();
        ObjectNode job = root.putObject("job")
                .put("id", r.id().toString())
                .put("name", r.name())
                .put("status", r.status().name())
                .put("createdAt", instant(r.createdAt()))
                .put("startedAt", instant(r.startedAt()))
                .put("finishedAt", instant(r.finishedAt()));
        job.set("spec", json.specNode(r.spec()));
        job.put("specSha256", b.specSha256());
        ArrayNode executions = root.putArray("executions");
        b.executions().forEach(e -> executions.add(execution(e)));
        ArrayNode keys = root.putArray("keys");
        for (RunnerKey k : b.keys()) {
            keys.addObject().put("keyId", k.keyId()).put("algorithm", k.algorithm()).put("publicKey", k.publicKey());
        }
        root.set("seal", b.seal() == null ? NODES.nullNode() : json.sealNode(b.seal()));
        return root;
    }

    ArrayNode jobs(List<JobRecord> records) {
        ArrayNode array = NODES.arrayNode();
        records.forEach(r -> array.add(job(r)));
        return array;
    }

    ObjectNode counts(ExecutionCounts c) {
        return json.countsNode(c);
    }

    /** The execution view of the README's API, as storage writes it ({@link JobJson}). */
    ObjectNode execution(ExecutionResult r) {
        return json.executionNode(r);
    }

    /** The {@code data} of an event: {@code jobId}, {@code seq}, {@code type}, then the type's own fields. */
    ObjectNode eventData(StoredEvent stored) {
        return json.eventNode(stored);
    }

    /**
     * Endpoints with their providers' state; never an api key. Provider URLs (scheme, host, port and
     * path only: user info and query may hold secrets) only {@code withUrls}, i.e. for an authorised
     * caller; last errors are a code and a short reason.
     */
    ArrayNode endpoints(List<EndpointStatus> statuses, boolean withUrls) {
        ArrayNode array = NODES.arrayNode();
        for (EndpointStatus s : statuses) {
            ObjectNode e = array.addObject()
                    .put("id", s.id().toString())
                    .put("model", s.id().model())
                    .put("region", s.id().region())
                    .put("circuitState", s.circuitState())
                    .put("inFlight", s.inFlight());
            ArrayNode providers = e.putArray("providers");
            for (EndpointStatus.Provider p : s.providers()) {
                ObjectNode pn = providers.addObject()
                        .put("id", p.id())
                        .put("type", p.type());
                if (withUrls) {
                    pn.put("url", publicUrl(p.url()));
                }
                pn.put("maxConcurrency", p.maxConcurrency())
                        .put("limit", p.limit())
                        .put("adaptive", p.adaptive())
                        .put("circuitState", p.circuitState())
                        .put("inFlight", p.inFlight())
                        .put("queued", p.queued());
                if (p.lastError() == null) {
                    pn.putNull("lastError");
                } else {
                    pn.putObject("lastError").put("code", p.lastError().code()).put("message", p.lastError().message());
                }
            }
        }
        return array;
    }

    JsonNode comparison(Comparison comparison) {
        return mapper.valueToTree(comparison);
    }

    /**
     * The comparison with each region entry's {@code baseline} block (README, "Comparison: the region-effect test and refusals"), and a top-level
     * {@code baseline} naming the baseline job and the question × endpoints only it has.
     */
    JsonNode comparison(Comparison comparison, java.util.Map<String, RunDrift.Baseline> drift) {
        ObjectNode root = (ObjectNode) comparison(comparison);
        java.util.Set<String> placed = new java.util.HashSet<>();
        String baselineId = drift.values().stream().map(RunDrift.Baseline::jobId).findFirst().orElse(null);
        for (JsonNode q : root.path("questions")) {
            for (JsonNode m : q.path("models")) {
                for (JsonNode r : m.path("regions")) {
                    String key = RunDrift.key(q.path("questionId").asString(), m.path("modelId").asString() + "@" + r.path("region").asString());
                    RunDrift.Baseline b = drift.get(key);
                    if (b != null) {
                        placed.add(key);
                        ((ObjectNode) r).set("baseline", mapper.valueToTree(b));
                    }
                }
            }
        }
        ObjectNode summary = root.putObject("baseline").put("jobId", baselineId);
        ArrayNode only = summary.putArray("onlyInBaseline");
        drift.forEach((key, b) -> {
            if (!placed.contains(key)) {
                String[] parts = key.split("\u0000", 2);
                only.addObject().put("questionId", parts[0]).put("endpoint", parts[1]).put("answers", b.answers());
            }
        });
        return root;
    }

    byte[] bytes(JsonNode node) {
        return mapper.writeValueAsString(node).getBytes(StandardCharsets.UTF_8);
    }

    String line(JsonNode node) {
        return mapper.writeValueAsString(node);
    }

    /** A URL as safe to show: scheme, host, port and path only (user info and query may hold secrets). */
    static @Nullable String publicUrl(@Nullable String url) {
        if (url == null || url.isBlank()) {
            return null;
        }
        try {
            URI u = new URI(url);
            return new URI(u.getScheme(), null, u.getHost(), u.getPort(), u.getPath(), null, null).toString();
        } catch (URISyntaxException | RuntimeException e) {
            return "(hidden)";
        }
    }

    private static @Nullable String instant(@Nullable Instant instant) {
        return instant == null ? null : instant.toString();
    }
}
