package dev.beacon.runner.core.service;

import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.JobId;
import dev.beacon.runner.core.domain.RunnerKey;
import dev.beacon.runner.core.store.EvidenceStore;
import dev.beacon.runner.core.store.JobStore;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** The published keys and the evidence bundles of finished jobs, read from the stores. */
public final class EvidenceService {

    private final JobStore jobs;
    private final EvidenceStore evidence;

    public EvidenceService(JobStore jobs, EvidenceStore evidence) {
        this.jobs = Objects.requireNonNull(jobs, "jobs");
        this.evidence = Objects.requireNonNull(evidence, "evidence");
    }

    /** Every key that ever signed here, oldest first. Errors with the store's error; cancel stops the read. */
    public Flux<RunnerKey> keys() {
        return evidence.keys();
    }

    /**
     * The bundle of a terminal job: its executions in API order, the keys its receipts and seal name,
     * its seal. Errors with {@link JobNotFoundException} for an unknown job and
     * {@link JobNotTerminalException} while it runs; cancel stops the reads. A terminal job never
     * changes, so the bundle is the same on every call and every instance.
     */
    public Mono<EvidenceBundle> bundle(JobId id) {
        return jobs.find(id)
                .switchIfEmpty(Mono.error(() -> new JobNotFoundException(id)))
                .flatMap(job -> {
                    if (!job.status().isTerminal()) {
                        return Mono.error(new JobNotTerminalException(id, job.status()));
                    }
                    return Mono.zip(jobs.orderedExecutions(id).collectList(),
                                    evidence.evidence(id).switchIfEmpty(Mono.error(() -> new JobNotFoundException(id))),
                                    evidence.keys().collectList())
                            .map(t -> new EvidenceBundle(job, t.getT2().specSha256(), t.getT1(),
                                    usedKeys(t.getT1(), t.getT2(), t.getT3()), t.getT2().seal()));
                });
    }

    /** The keys named by the rows' receipts and by the seal, in the order they were recorded. */
    private static List<RunnerKey> usedKeys(List<ExecutionResult> rows, EvidenceStore.JobEvidence evidence, List<RunnerKey> all) {
        Set<String> used = new HashSet<>();
        for (ExecutionResult row : rows) {
            if (row.receipt() != null) {
                used.add(row.receipt().runnerKeyId());
            }
        }
        if (evidence.seal() != null) {
            used.add(evidence.seal().runnerKeyId());
        }
        return all.stream().filter(k -> used.contains(k.keyId())).toList();
    }
}
