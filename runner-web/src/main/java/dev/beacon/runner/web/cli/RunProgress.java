package dev.beacon.runner.web.cli;

import java.io.PrintWriter;
import java.util.Locale;
import tools.jackson.databind.JsonNode;

/**
 * A job's progress on stderr: on a terminal one line redrawn in place (a bar with the cells finished
 * of all, those not succeeded, the question running, the time since the job was submitted and the
 * rate); otherwise, for logs and pipes, one line per finished question.
 */
final class RunProgress {

    private static final int BAR_WIDTH = 30;

    private final PrintWriter err;
    private final boolean live;
    private int cells;
    private int finished;
    private int failed;
    private int questions;
    private String current = "";
    private final long startedNanos = System.nanoTime();

    RunProgress(PrintWriter err, boolean live) {
        this.err = err;
        this.live = live;
    }

    void on(RunnerApi.Event event) {
        JsonNode d = event.data();
        switch (event.type()) {
            case "job.queued" -> cells = d.path("cells").asInt();
            case "question.started" -> {
                questions = d.path("total").asInt();
                current = (d.path("index").asInt() + 1) + "/" + questions + " " + d.path("questionId").asString();
            }
            case "execution.finished" -> {
                finished++;
                if (!"SUCCEEDED".equals(d.path("status").asString())) {
                    failed++;
                }
            }
            case "question.finished" -> {
                if (!live) {
                    JsonNode c = d.path("counts");
                    err.printf(Locale.ROOT, "question %d/%d %s: %d succeeded, %d failed, %d timed out, %d cancelled%n",
                            d.path("index").asInt() + 1, questions, d.path("questionId").asString(), c.path("succeeded").asInt(),
                            c.path("failed").asInt(), c.path("timedOut").asInt(), c.path("cancelled").asInt());
                }
            }
            case "job.finished" -> {
                if (live) {
                    redraw();
                    err.println();
                }
                err.println("job " + d.path("status").asString() + ": " + finished + " of " + cells + " cells finished, "
                        + failed + " not succeeded");
                err.flush();
                return;
            }
            default -> {
                return;
            }
        }
        if (live) {
            redraw();
        }
        err.flush();
    }

    private void redraw() {
        int filled = cells == 0 ? 0 : (int) ((long) finished * BAR_WIDTH / cells);
        double seconds = (System.nanoTime() - startedNanos) / 1e9;
        err.print("\r[" + "#".repeat(filled) + "-".repeat(BAR_WIDTH - filled) + "] " + finished + "/" + cells
                + (failed > 0 ? " (" + failed + " not ok)" : "") + "  question " + current
                + String.format(Locale.ROOT, "  %.1f s  %.1f cells/s", seconds, seconds > 0 ? finished / seconds : 0.0) + "\u001b[K");
    }
}
