package dev.beacon.runner.core.plan;

import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.endpoint.EndpointCatalog;
import dev.beacon.runner.core.spec.CellLayout;
import dev.beacon.runner.core.spec.FieldError;
import dev.beacon.runner.core.spec.JobSpec;
import dev.beacon.runner.core.spec.ModelSelection;
import dev.beacon.runner.core.spec.SpecValidationException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Turns a job spec into the ordered cells of each question, against the endpoints configured on
 * this runner. Questions keep their submitted order; within a question, endpoints follow the
 * spec's model order, then each model's region order ({@link CellLayout}).
 */
public final class ExecutionPlanner {

    private final EndpointCatalog catalog;

    public ExecutionPlanner(EndpointCatalog catalog) {
        this.catalog = Objects.requireNonNull(catalog, "catalog");
    }

    /**
     * Plans a job.
     *
     * @throws SpecValidationException if the spec names a model or region not configured here
     */
    public ExecutionPlan plan(JobId jobId, JobSpec spec) {
        List<FieldError> errors = new ArrayList<>();
        for (int i = 0; i < spec.models().size(); i++) {
            ModelSelection m = spec.models().get(i);
            if (!catalog.hasModel(m.id())) {
                errors.add(new FieldError("models[" + i + "].id", "unknown model '" + m.id() + "'; configured: " + String.join(", ", catalog.models())));
                continue;
            }
            for (int j = 0; j < m.regions().size(); j++) {
                String region = m.regions().get(j);
                if (catalog.find(new EndpointId(m.id(), region)).isEmpty()) {
                    errors.add(new FieldError("models[" + i + "].regions[" + j + "]", "unknown region '" + region + "' for model " + m.id()
                            + "; configured: " + String.join(", ", catalog.regionsOf(m.id()))));
                }
            }
        }
        if (!errors.isEmpty()) {
            throw new SpecValidationException(errors);
        }
        List<PlannedQuestion> questions = new ArrayList<>(spec.questions().size());
        for (int i = 0; i < spec.questions().size(); i++) {
            var q = spec.questions().get(i);
            questions.add(new PlannedQuestion(i, q, CellLayout.cellsOf(spec, q)));
        }
        return new ExecutionPlan(jobId, spec, CellLayout.endpoints(spec), questions);
    }
}
