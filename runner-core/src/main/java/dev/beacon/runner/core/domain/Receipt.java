package dev.beacon.runner.core.domain;

/**
 * Provenance of a stored execution: hashes of what was sent and what came back, signed by the
 * runner's key so that a result can later be shown to come from this runner unaltered.
 */
public record Receipt(String requestSha256, String outputSha256, String runnerKeyId, String signature) {
}
