package dev.beacon.runner.core.testing;

import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.LauncherSessionListener;
import reactor.blockhound.BlockHound;

/**
 * Installs BlockHound before any test runs, so a blocking call on a Reactor non-blocking thread
 * (event loop, parallel scheduler) fails the test that made it. Registered through
 * {@code META-INF/services} by every module (runner-core, runner-persistence, runner-web), each in its
 * own test resources: the test-jar leaves core's registration out, and under {@code mvn verify} the
 * other modules see core's test classes only as that jar. Each module's {@code BlockHoundInstalledTest}
 * proves it is on there.
 *
 * <p>{@code -Dbeacon.blockhound=off} (set by the {@code bench} profile) skips it: benchmarks measure
 * the code as it runs in production, without the instrumentation.
 */
public final class BlockHoundInstaller implements LauncherSessionListener {

    @Override
    public void launcherSessionOpened(LauncherSession session) {
        if ("off".equals(System.getProperty("beacon.blockhound"))) {
            return;
        }
        BlockHound.install(builder -> builder
                // Test logging goes to the console synchronously; that is the test's own I/O, not the code's.
                .allowBlockingCallsInside("ch.qos.logback.core.OutputStreamAppender", "writeBytes")
                .allowBlockingCallsInside("ch.qos.logback.core.OutputStreamAppender", "append")
                // /dev/urandom never blocks; Netty's DNS resolver draws query ids from it.
                .allowBlockingCallsInside("sun.security.provider.NativePRNG$RandomIO", "implNextBytes")
                // Netty 4.2's adaptive allocator briefly takes a lock when a buffer is allocated off the
                // event loop (e.g. a response written from a timer thread); Netty's own BlockHound
                // integration does not list it yet.
                .allowBlockingCallsInside("io.netty.buffer.AdaptivePoolingAllocator$MagazineGroup", "tryExpandMagazines")
                .allowBlockingCallsInside("io.netty.buffer.AdaptivePoolingAllocator$Magazine", "free")
                // Cancelling a periodic timer (Flux.interval) removes its task from the queue of the
                // parallel worker that runs it, under that executor's lock, held only for the removal.
                // Reactor's own integration allows exactly this for one-shot tasks (SchedulerTask and
                // WorkerTask#dispose) but misses the periodic ones; seen when a cancelled job's run
                // disposed its cancel poll from the other parallel worker, and the error then broke the
                // cancellation half-way.
                .allowBlockingCallsInside("reactor.core.scheduler.PeriodicWorkerTask", "dispose")
                .allowBlockingCallsInside("reactor.core.scheduler.InstantPeriodicWorkerTask", "dispose")
                .allowBlockingCallsInside("reactor.core.scheduler.PeriodicSchedulerTask", "dispose")
                // Tests only: reactor-test's VirtualTimeScheduler keeps its tasks in a PriorityBlockingQueue;
                // cancelling a virtual timer from an event loop (a store call answering while the test
                // advances time) takes that queue's lock for a moment.
                .allowBlockingCallsInside("reactor.test.scheduler.VirtualTimeScheduler$TimedRunnable", "dispose")
                // Resolving a service loader reads class-path resources once, at first use.
                .allowBlockingCallsInside("java.util.ServiceLoader$LazyClassPathLookupIterator", "parse"));
    }
}
