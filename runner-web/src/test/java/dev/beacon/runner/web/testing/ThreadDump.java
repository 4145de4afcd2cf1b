package dev.beacon.runner.web.testing;

/**
 * Every thread of this JVM with its full stack, for a test that gives up waiting for the server: a
 * request that is never answered is only explained by where the server's threads are waiting.
 */
public final class ThreadDump {

    private ThreadDump() {
    }

    /** Prints the dump to stderr under {@code heading}. */
    public static void print(String heading) {
        System.err.println(heading + "; the JVM's threads:\n" + text());
    }

    public static String text() {
        StringBuilder dump = new StringBuilder();
        Thread.getAllStackTraces().forEach((thread, frames) -> {
            dump.append('"').append(thread.getName()).append("\" ").append(thread.getState()).append('\n');
            for (StackTraceElement frame : frames) {
                dump.append("    at ").append(frame).append('\n');
            }
        });
        return dump.toString();
    }
}
