package dev.beacon.runner.core.dispatch;

import java.time.Duration;
import java.util.Objects;

/**
 * How one runner instance takes work.
 *
 * @param instanceId   this instance's name as lease owner; unique among instances sharing a database
 * @param capacity     jobs this instance runs at once
 * @param lease        how long a claim lasts without renewal; another instance resumes the job after it
 * @param heartbeat    how often leases are renewed; at most a third of {@code lease}, so that a run
 *                     survives a renewal or two that come late (see {@link #selfFenceAfter()})
 * @param pollInterval how often the store is polled for work even without a wake-up signal
 */
public record DispatcherSettings(String instanceId, int capacity, Duration lease, Duration heartbeat, Duration pollInterval) {

    public DispatcherSettings {
        if (instanceId == null || instanceId.isBlank()) {
            throw new IllegalArgumentException("instanceId must not be blank");
        }
        if (capacity < 1 || capacity > 10_000) {
            throw new IllegalArgumentException("capacity must be between 1 and 10000, but was " + capacity);
        }
        Objects.requireNonNull(lease, "lease");
        Objects.requireNonNull(heartbeat, "heartbeat");
        Objects.requireNonNull(pollInterval, "pollInterval");
        if (heartbeat.isNegative() || heartbeat.isZero() || heartbeat.multipliedBy(3).compareTo(lease) > 0) {
            throw new IllegalArgumentException("heartbeat must be positive and at most a third of the lease (" + lease + "), but was "
                    + heartbeat);
        }
        if (pollInterval.isNegative() || pollInterval.isZero()) {
            throw new IllegalArgumentException("pollInterval must be positive, but was " + pollInterval);
        }
    }

    /**
     * How long a run may go on after the last renewal of its lease was sent before its owner stops it
     * (self-fencing): five sixths of the lease. The lease counts on the database from when it received
     * that renewal, which is later, so the run stops at least a sixth of the lease before anyone else
     * can claim the job; stopping takes no database call (in-flight provider calls are cancelled, and a
     * write already on its way is refused by the fencing token). The rest of the lease is what a slow
     * renewal may take: renewals are sent every heartbeat, at most a third of the lease, so a run is
     * stopped only when renewals go unanswered for about half the lease.
     */
    public Duration selfFenceAfter() {
        return lease.multipliedBy(5).dividedBy(6);
    }
}
