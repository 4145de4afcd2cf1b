package dev.beacon.runner.web;

import reactor.blockhound.BlockHound;
import reactor.blockhound.integration.BlockHoundIntegration;

/**
 * Tells BlockHound (installed for every test run by runner-core's test-jar) about Netty 4.2's adaptive
 * buffer allocator: when it grows a magazine group it takes a {@code StampedLock} for a few
 * instructions, which BlockHound reports as a park on the event loop although no I/O or wait is
 * involved. Found by the web tests, where many connections allocate at once.
 */
public final class NettyAllocatorBlockHoundIntegration implements BlockHoundIntegration {

    @Override
    public void applyTo(BlockHound.Builder builder) {
        builder.allowBlockingCallsInside("io.netty.buffer.AdaptivePoolingAllocator$MagazineGroup", "tryExpandMagazines");
        builder.allowBlockingCallsInside("io.netty.buffer.AdaptivePoolingAllocator$Magazine", "free");
    }
}
