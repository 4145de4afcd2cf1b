package dev.beacon.runner.web.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;

/**
 * The table the {@code run} command prints on stdout when a job has finished: per model and region
 * the cells that succeeded and those that did not (tallied from the job's {@code execution.finished}
 * events) and the refusal rate (from the comparison), then the questions where some model's regions
 * answered differently.
 */
final class RunSummary {

    private final Map<String, int[]> byEndpoint = new LinkedHashMap<>();

    /** Tallies one event; only {@code execution.finished} counts. */
    void on(RunnerApi.Event event) {
        if (event.type().equals("execution.finished")) {
            JsonNode d = event.data();
            int[] tally = byEndpoint.computeIfAbsent(d.path("modelId").asString() + "@" + d.path("region").asString(), k -> new int[2]);
            tally["SUCCEEDED".equals(d.path("status").asString()) ? 0 : 1]++;
        }
    }

    /** Prints the table; {@code comparison} may be {@code null} (then no refusal rates or divergent questions). */
    void print(PrintWriter out, String jobId, String status, @Nullable JsonNode comparison) {
        Map<String, Double> refusalRates = new LinkedHashMap<>();
        List<String> divergent = new ArrayList<>();
        if (comparison != null) {
            for (JsonNode r : comparison.path("summary").path("perRegion")) {
                refusalRates.put(r.path("modelId").asString() + "@" + r.path("region").asString(), r.path("refusalRate").asDouble());
            }
            for (JsonNode q : comparison.path("questions")) {
                List<String> models = new ArrayList<>();
                q.path("models").forEach(m -> {
                    if (m.path("divergent").asBoolean()) {
                        models.add(m.path("modelId").asString());
                    }
                });
                if (!models.isEmpty()) {
                    divergent.add(q.path("questionId").asString() + " (" + String.join(", ", models) + ")");
                }
            }
        }
        // The comparison lists endpoints in the job's order; rows of endpoints it does not list go last.
        List<String> order = new ArrayList<>(refusalRates.keySet());
        byEndpoint.keySet().stream().filter(e -> !order.contains(e)).forEach(order::add);
        out.println("job " + jobId + " " + status);
        out.printf(Locale.ROOT, "%-32s %10s %10s %13s%n", "model@region", "succeeded", "failed", "refusal rate");
        order.forEach(endpoint -> {
            int[] tally = byEndpoint.get(endpoint);
            if (tally == null) {
                return; // an endpoint of the comparison without a row here
            }
            Double rate = refusalRates.get(endpoint);
            out.printf(Locale.ROOT, "%-32s %10d %10d %13s%n", endpoint, tally[0], tally[1], rate == null ? "-" : String.format(Locale.ROOT, "%.1f %%", rate * 100));
        });
        out.println(divergent.isEmpty() ? "divergent questions: none" : "divergent questions: " + String.join("; ", divergent));
        out.flush();
    }
}
