package dev.beacon.runner.core.testing;

import org.junit.jupiter.api.Test;

/** Proves the suite runs with BlockHound: a blocking call on a non-blocking thread fails. */
class BlockHoundInstalledTest {

    @Test
    void blockingOnAParallelThreadIsReported() {
        BlockHoundProbe.assertBlockingOnAParallelThreadIsReported();
    }
}
