package dev.beacon.runner.core.observe;

import io.micrometer.context.ContextRegistry;
import io.micrometer.context.ThreadLocalAccessor;
import io.micrometer.context.integration.Slf4jThreadLocalAccessor;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import reactor.core.publisher.Hooks;

/**
 * Switches on log correlation for the engine: registers an SLF4J MDC accessor for the engine's
 * keys with the global {@link ContextRegistry} and turns on Reactor's automatic context
 * propagation, so that every log line written while a job runs carries {@code jobId} and, where it
 * applies, {@code questionId}, {@code model}, {@code region} and {@code provider} — on whichever
 * thread (event loop, timer, caller) the line is written.
 *
 * <p>The engine always puts these values in the Reactor {@code Context} of a job (under
 * {@link Slf4jThreadLocalAccessor#KEY}, as a {@code Map<String, String>}); nothing reaches the MDC
 * unless the accessor is registered ({@link #registerMdcAccessor()}). With only the accessor, the
 * engine's own lines carry the values: it writes each of them with its context's values in the MDC.
 * Automatic propagation ({@link #enableContextPropagation()}, or Spring Boot's
 * {@code spring.reactor.context-propagation=auto}) puts them on every other line written inside a job
 * too, at a price: it restores every registered thread local at every operator, in the whole JVM.
 *
 * <p>Only one accessor per key can be registered: a host that registers its own
 * {@link Slf4jThreadLocalAccessor} replaces this one, and must then list {@link #MDC_KEYS} among
 * its keys.
 *
 * <p>Observations the engine makes when given an {@code ObservationRegistry}:
 * <table>
 *   <caption>Observations (one trace per job)</caption>
 *   <tr><th>name</th><th>parent</th><th>low-cardinality keys</th><th>high-cardinality keys</th></tr>
 *   <tr><td>{@value #JOB_OBSERVATION}</td><td>the caller's current observation, if any</td><td>{@code status}</td>
 *       <td>{@code jobId}</td></tr>
 *   <tr><td>{@value #QUESTION_OBSERVATION}</td><td>{@value #JOB_OBSERVATION}</td><td>—</td>
 *       <td>{@code jobId}, {@code questionId}, {@code index}</td></tr>
 *   <tr><td>{@value #EXECUTION_OBSERVATION}</td><td>{@value #QUESTION_OBSERVATION}</td>
 *       <td>{@code model}, {@code region}, {@code provider}, {@code status}</td><td>{@code questionId}</td></tr>
 * </table>
 * The execution observation is the current one (Reactor context key
 * {@code ObservationThreadLocalAccessor.KEY}, and the thread-local one under automatic propagation)
 * while the provider's HTTP exchange is subscribed, so a client observation nests under it.
 */
public final class RunnerObservability {

    /** MDC key of the job's id. */
    public static final String JOB_ID = "jobId";
    /** MDC key of the question's id, while a question's cells run. */
    public static final String QUESTION_ID = "questionId";
    /** MDC key of the endpoint's model, while a cell runs. */
    public static final String MODEL = "model";
    /** MDC key of the endpoint's region, while a cell runs. */
    public static final String REGION = "region";
    /** MDC key of the provider being called, during one attempt. */
    public static final String PROVIDER = "provider";
    /** Every MDC key the engine fills, in order of nesting. */
    public static final List<String> MDC_KEYS = List.of(JOB_ID, QUESTION_ID, MODEL, REGION, PROVIDER);

    /** Name of the observation spanning one run of a job. */
    public static final String JOB_OBSERVATION = "beacon.job";
    /** Name of the observation spanning one question: its start event, its cells and its finish event. */
    public static final String QUESTION_OBSERVATION = "beacon.question";
    /** Name of the observation spanning one cell: every attempt, retry and fallback until its result. */
    public static final String EXECUTION_OBSERVATION = "beacon.execution";

    private static final AtomicBoolean registered = new AtomicBoolean();

    private RunnerObservability() {
    }

    /**
     * Registers the MDC accessor (once per JVM) and enables {@link Hooks#enableAutomaticContextPropagation()}.
     * Safe to call more than once.
     */
    public static void enableContextPropagation() {
        registerMdcAccessor();
        Hooks.enableAutomaticContextPropagation();
    }

    /**
     * Registers the MDC accessor for {@link #MDC_KEYS} (under {@link Slf4jThreadLocalAccessor#KEY}) with the global
     * {@link ContextRegistry}, unless this method already did; does not touch Reactor's hooks.
     *
     * @return whether this call registered it
     */
    public static boolean registerMdcAccessor() {
        if (!registered.compareAndSet(false, true)) {
            return false;
        }
        ContextRegistry.getInstance().registerThreadLocalAccessor(mdcAccessor());
        return true;
    }

    /**
     * A new accessor that moves {@link #MDC_KEYS} between the Reactor context and the MDC, for hosts
     * that register accessors themselves: an {@link Slf4jThreadLocalAccessor} for those keys that
     * skips the MDC writes when a scope re-applies what the thread already holds.
     */
    public static ThreadLocalAccessor<?> mdcAccessor() {
        return new EngineMdcAccessor(MDC_KEYS);
    }
}
