package dev.beacon.runner.core.spec;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.domain.Question;
import java.util.ArrayList;
import java.util.List;

/**
 * The order of a job's endpoints and cells, derived from its spec alone. Endpoints come in the order
 * the spec lists models, then each model's regions. Two cell orders exist and both are fixed here:
 * the <em>API order</em> (question, endpoint, sample) in which stores and views list executions, and
 * the <em>run order</em> of one question's cells, sample-major (sample 0 at every endpoint before
 * sample 1 anywhere), so that every region answers each sample in the same time window.
 */
public final class CellLayout {

    private CellLayout() {
    }

    public static List<EndpointId> endpoints(JobSpec spec) {
        List<EndpointId> result = new ArrayList<>();
        for (ModelSelection m : spec.models()) {
            for (String region : m.regions()) {
                result.add(new EndpointId(m.id(), region));
            }
        }
        return result;
    }

    /** One question's cells in run order: sample 0 at every endpoint, then sample 1, and so on. */
    public static List<Cell> cellsOf(JobSpec spec, Question question) {
        List<EndpointId> endpoints = endpoints(spec);
        List<Cell> result = new ArrayList<>(endpoints.size() * spec.samples());
        for (int sample = 0; sample < spec.samples(); sample++) {
            for (EndpointId e : endpoints) {
                result.add(new Cell(question.id(), e, sample));
            }
        }
        return result;
    }

    /** Every cell of the job in API order: question, then endpoint, then sample. */
    public static List<Cell> cells(JobSpec spec) {
        List<EndpointId> endpoints = endpoints(spec);
        List<Cell> result = new ArrayList<>(cellCount(spec));
        for (Question q : spec.questions()) {
            for (EndpointId e : endpoints) {
                for (int sample = 0; sample < spec.samples(); sample++) {
                    result.add(new Cell(q.id(), e, sample));
                }
            }
        }
        return result;
    }

    /** How many cells the job has: questions × endpoints × samples. */
    public static int cellCount(JobSpec spec) {
        int endpoints = 0;
        for (ModelSelection m : spec.models()) {
            endpoints += m.regions().size();
        }
        return spec.questions().size() * endpoints * spec.samples();
    }

    /** Position of a cell in {@link #cells(JobSpec)}, for sorting stored rows; -1 if not part of it. */
    public static int indexOf(JobSpec spec, Cell cell) {
        int q = -1;
        for (int i = 0; i < spec.questions().size(); i++) {
            if (spec.questions().get(i).id().equals(cell.questionId())) {
                q = i;
                break;
            }
        }
        List<EndpointId> endpoints = endpoints(spec);
        int e = endpoints.indexOf(cell.endpoint());
        if (q < 0 || e < 0 || cell.sample() >= spec.samples()) {
            return -1;
        }
        return (q * endpoints.size() + e) * spec.samples() + cell.sample();
    }
}
