package dev.beacon.runner.core.store;

import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.RunnerKey;
import dev.beacon.runner.core.domain.Seal;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** Where the public keys and the seals that make stored answers checkable are kept. */
public interface EvidenceStore {

    /**
     * Records {@code key} as one that signs here; a key already recorded keeps its first
     * {@code createdAt}. Errors with the store's error when the database cannot be reached.
     */
    Mono<Void> registerKey(RunnerKey key);

    /** Every key ever recorded, oldest first. */
    Flux<RunnerKey> keys();

    /** The spec hash and seal of a job ({@code seal} null until it is terminal); empty for an unknown job. */
    Mono<JobEvidence> evidence(JobId id);

    /** What binds a job's stored answers: the hash of its spec and, once terminal, its seal. */
    record JobEvidence(String specSha256, @Nullable Seal seal) {
    }
}
