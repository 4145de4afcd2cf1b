package dev.beacon.runner.core.spec;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.domain.Question;
import java.util.ArrayList;
import java.util.List;

/**
 * The order of a job's endpoints and cells, derived from its spec alone: endpoints in the order the
 * spec lists models, then each model's regions; cells question by question in that endpoint order.
 * Stores and views use it so that "question order, endpoint order" means the same everywhere.
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

    public static List<Cell> cellsOf(JobSpec spec, Question question) {
        return endpoints(spec).stream().map(e -> new Cell(question.id(), e)).toList();
    }

    public static List<Cell> cells(JobSpec spec) {
        List<EndpointId> endpoints = endpoints(spec);
        List<Cell> result = new ArrayList<>(spec.questions().size() * endpoints.size());
        for (Question q : spec.questions()) {
            for (EndpointId e : endpoints) {
                result.add(new Cell(q.id(), e));
            }
        }
        return result;
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
        int e = endpoints(spec).indexOf(cell.endpoint());
        return q < 0 || e < 0 ? -1 : q * endpoints(spec).size() + e;
    }
}
