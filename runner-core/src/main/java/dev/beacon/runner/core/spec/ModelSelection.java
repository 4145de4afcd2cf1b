package dev.beacon.runner.core.spec;

import java.util.List;

/** A model of a job and the regions it is asked in. */
public record ModelSelection(String id, List<String> regions) {

    public ModelSelection {
        regions = List.copyOf(regions);
    }
}
