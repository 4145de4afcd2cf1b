package dev.beacon.runner.core.service;

import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.RunnerKey;
import dev.beacon.runner.core.domain.Seal;
import dev.beacon.runner.core.store.JobRecord;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Everything needed to check a terminal job offline (README, "Seals and bundles"): the job with its spec and spec
 * hash, every execution in API order, the public keys that signed them, and the seal.
 */
public record EvidenceBundle(JobRecord job, String specSha256, List<ExecutionResult> executions, List<RunnerKey> keys,
                             @Nullable Seal seal) {

    public EvidenceBundle {
        Objects.requireNonNull(job, "job");
        Objects.requireNonNull(specSha256, "specSha256");
        executions = List.copyOf(executions);
        keys = List.copyOf(keys);
    }
}
