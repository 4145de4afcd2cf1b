package dev.beacon.runner.web.autoconfigure;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * The name of this runner instance: lease owner in the store and {@code runner} of
 * {@code job.started}.
 *
 * <p>It is stable across restarts, so that a restarted instance finds the jobs its predecessor held
 * under the same name and resumes them at once (it releases them as orphans and claims them again)
 * rather than waiting for their leases to end: the configured
 * {@code beacon.runner.dispatcher.instance-id}, or else the host name. On PostgreSQL the name is held
 * by an {@link dev.beacon.runner.persistence.InstanceNameLock} for the life of the process, so two
 * live instances never share one: a second process on the same host takes {@code host-2}, and so on.
 */
public record RunnerInstance(String id) {

    /** Most processes on one host that get a stable name ({@code host}, {@code host-2}, …). */
    static final int NAMES_PER_HOST = 8;

    public RunnerInstance {
        if (id == null || id.isBlank() || id.length() > 200) {
            throw new IllegalArgumentException("runner instance id must be 1-200 characters, but was '" + id + "'");
        }
    }

    /** The names to try, in order: the configured one only, or the host's. */
    static List<String> candidates(@Nullable String configured) {
        if (configured != null && !configured.isBlank()) {
            return List.of(configured.strip());
        }
        String host = hostName();
        List<String> names = new ArrayList<>();
        names.add(host);
        for (int i = 2; i <= NAMES_PER_HOST; i++) {
            names.add(host + "-" + i);
        }
        return names;
    }

    /** A name no other process can have: for when every stable one is held. */
    static RunnerInstance unique() {
        return new RunnerInstance(hostName() + "-" + ProcessHandle.current().pid() + "-" + UUID.randomUUID().toString().substring(0, 8));
    }

    private static String hostName() {
        try {
            String host = InetAddress.getLocalHost().getHostName();
            return host == null || host.isBlank() ? "runner" : host;
        } catch (Exception e) {
            return "runner";
        }
    }
}
