package dev.beacon.runner.persistence;

import dev.beacon.runner.core.domain.RunnerKey;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** The {@code runner_keys} table: every public key the runner has signed with, kept for verifiers. */
final class RunnerKeys {

    private final StoreDatabase db;

    RunnerKeys(StoreDatabase db) {
        this.db = db;
    }

    /** Inserts the key unless its id is recorded already (then its first {@code created_at} stays). */
    Mono<Void> register(RunnerKey key) {
        return db.run(db.sql("""
                INSERT INTO {runner_keys} (key_id, algorithm, public_key, created_at) VALUES (:id, :algorithm, :key, :at)
                ON CONFLICT DO NOTHING""")
                .bind("id", key.keyId()).bind("algorithm", key.algorithm()).bind("key", key.publicKey())
                .bind("at", SqlValues.ts(SqlValues.micros(key.createdAt())))
                .fetch().rowsUpdated()).then();
    }

    /** Every key, oldest first. */
    Flux<RunnerKey> all() {
        return db.run(db.sql("SELECT key_id, algorithm, public_key, created_at FROM {runner_keys} ORDER BY created_at, key_id")
                .map((row, meta) -> new RunnerKey(row.get("key_id", String.class), row.get("algorithm", String.class),
                        row.get("public_key", String.class), JobRows.requiredInstant(row, "created_at")))
                .all());
    }
}
