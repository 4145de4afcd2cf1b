package dev.beacon.runner.core.plan;

import dev.beacon.runner.core.domain.Cell;
import dev.beacon.runner.core.domain.Question;
import java.util.List;

/** Question {@code index} (0-based) of a plan and its cells, in endpoint order. */
public record PlannedQuestion(int index, Question question, List<Cell> cells) {

    public PlannedQuestion {
        if (index < 0) {
            throw new IllegalArgumentException("index must be >= 0, but was " + index);
        }
        cells = List.copyOf(cells);
    }
}
