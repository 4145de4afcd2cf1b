package dev.beacon.runner.web.autoconfigure;

import java.net.InetAddress;
import java.util.UUID;

/**
 * The name of this runner instance: lease owner in the store and {@code runner} of
 * {@code job.started}. Unless configured it is {@code host-pid-random}, so that a restarted process
 * never mistakes a dead predecessor's leases for its own.
 */
public record RunnerInstance(String id) {

    public RunnerInstance {
        if (id == null || id.isBlank() || id.length() > 200) {
            throw new IllegalArgumentException("runner instance id must be 1-200 characters, but was '" + id + "'");
        }
    }

    static RunnerInstance of(String configured) {
        if (configured != null && !configured.isBlank()) {
            return new RunnerInstance(configured.strip());
        }
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            host = "runner";
        }
        return new RunnerInstance(host + "-" + ProcessHandle.current().pid() + "-" + UUID.randomUUID().toString().substring(0, 8));
    }
}
