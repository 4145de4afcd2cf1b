package dev.beacon.runner.web.autoconfigure;

import dev.beacon.runner.core.domain.RunnerKey;
import dev.beacon.runner.core.engine.ReceiptSigner;
import dev.beacon.runner.core.store.EvidenceStore;
import java.time.Clock;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.SmartInitializingSingleton;

/**
 * Records the runner's public key once every bean exists and before the dispatcher starts (a
 * {@link org.springframework.context.SmartLifecycle}), so no receipt is signed with a key that
 * {@code GET /keys} does not list. Start-up fails if the database cannot record it within
 * {@code timeout}, as it does when the schema cannot be migrated.
 */
final class RunnerKeyRegistration implements SmartInitializingSingleton {

    private static final Logger log = LoggerFactory.getLogger(RunnerKeyRegistration.class);

    private final EvidenceStore evidence;
    private final ReceiptSigner signer;
    private final Clock clock;
    private final Duration timeout;

    RunnerKeyRegistration(EvidenceStore evidence, ReceiptSigner signer, Clock clock, Duration timeout) {
        this.evidence = evidence;
        this.signer = signer;
        this.clock = clock;
        this.timeout = timeout;
    }

    @Override
    public void afterSingletonsInstantiated() {
        evidence.registerKey(new RunnerKey(signer.keyId(), "Ed25519", signer.publicKeyBase64(), clock.instant())).block(timeout);
        log.info("receipt key {} recorded in runner_keys (GET /keys)", signer.keyId());
    }
}
