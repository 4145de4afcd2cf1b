package dev.beacon.runner.core.domain;

/** How many cells are in each state. {@code pending} = cells without a terminal result. */
public record ExecutionCounts(int succeeded, int failed, int timedOut, int cancelled, int pending) {

    public static final ExecutionCounts EMPTY = new ExecutionCounts(0, 0, 0, 0, 0);

    public ExecutionCounts {
        if (succeeded < 0 || failed < 0 || timedOut < 0 || cancelled < 0 || pending < 0) {
            throw new IllegalArgumentException("counts must be >= 0");
        }
    }

    public static ExecutionCounts allPending(int cells) {
        return new ExecutionCounts(0, 0, 0, 0, cells);
    }

    public int finished() {
        return succeeded + failed + timedOut + cancelled;
    }

    public int total() {
        return finished() + pending;
    }

    /** Counts after one more cell reached {@code status}; one pending cell fewer, if any. */
    public ExecutionCounts plus(ExecutionStatus status) {
        int p = Math.max(0, pending - 1);
        return switch (status) {
            case SUCCEEDED -> new ExecutionCounts(succeeded + 1, failed, timedOut, cancelled, p);
            case FAILED -> new ExecutionCounts(succeeded, failed + 1, timedOut, cancelled, p);
            case TIMED_OUT -> new ExecutionCounts(succeeded, failed, timedOut + 1, cancelled, p);
            case CANCELLED -> new ExecutionCounts(succeeded, failed, timedOut, cancelled + 1, p);
        };
    }

    /** Share of all cells that succeeded; 1.0 for an empty job. */
    public double successRate() {
        int total = total();
        return total == 0 ? 1.0 : (double) succeeded / total;
    }
}
