package dev.beacon.runner.core.observe;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.context.ContextRegistry;
import io.micrometer.context.ThreadLocalAccessor;
import io.micrometer.context.integration.Slf4jThreadLocalAccessor;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;

class RunnerObservabilityTest {

    @Test
    void mdcAccessorIsRegisteredOnceUnderTheSlf4jKey() {
        RunnerObservability.registerMdcAccessor();

        assertThat(RunnerObservability.registerMdcAccessor()).as("second registration").isFalse();
        assertThat(ContextRegistry.getInstance().getThreadLocalAccessors())
                .filteredOn(a -> Slf4jThreadLocalAccessor.KEY.equals(a.key())).hasSize(1);
    }

    @Test
    @SuppressWarnings("unchecked")
    void accessorMovesOnlyTheEngineKeysAndRemovesThemAgain() {
        ThreadLocalAccessor<Map<String, String>> accessor = (ThreadLocalAccessor<Map<String, String>>) RunnerObservability.mdcAccessor();
        MDC.put("traceId", "host-owned");
        try {
            accessor.setValue(Map.of("jobId", "j-1", "model", "m", "unrelated", "ignored"));
            assertThat(MDC.get("jobId")).isEqualTo("j-1");
            assertThat(MDC.get("model")).isEqualTo("m");
            assertThat(MDC.get("unrelated")).isNull();

            accessor.setValue();
            assertThat(MDC.get("jobId")).isNull();
            assertThat(MDC.get("model")).isNull();
            assertThat(MDC.get("traceId")).as("a host's own MDC entries are left alone").isEqualTo("host-owned");
        } finally {
            MDC.clear();
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void aScopeThatReappliesWhatTheThreadHoldsGetsTheSameMapBackAndChangesNothing() {
        ThreadLocalAccessor<Map<String, String>> accessor = (ThreadLocalAccessor<Map<String, String>>) RunnerObservability.mdcAccessor();
        Map<String, String> job = Map.of("jobId", "j-1", "questionId", "q-1");
        try {
            accessor.setValue(job);
            Map<String, String> captured = accessor.getValue();
            accessor.setValue(captured);
            accessor.restore(captured);

            assertThat(captured).as("the applied map itself, not a copy").isSameAs(job);
            assertThat(MDC.get("jobId")).isEqualTo("j-1");
            assertThat(MDC.get("questionId")).isEqualTo("q-1");
        } finally {
            MDC.clear();
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void aKeyChangedInTheMdcBehindTheAccessorsBackIsSeenAndReappliedNotTrusted() {
        ThreadLocalAccessor<Map<String, String>> accessor = (ThreadLocalAccessor<Map<String, String>>) RunnerObservability.mdcAccessor();
        Map<String, String> job = Map.of("jobId", "j-1");
        try {
            accessor.setValue(job);
            MDC.put("jobId", "changed-by-the-host");
            MDC.put("model", "m");

            Map<String, String> captured = accessor.getValue();
            assertThat(captured).isNotSameAs(job).containsEntry("jobId", "changed-by-the-host").containsEntry("model", "m");

            accessor.setValue(job);
            assertThat(MDC.get("jobId")).isEqualTo("j-1");
            assertThat(MDC.get("model")).as("a key the map has no value for").isNull();

            accessor.restore(captured);
            assertThat(MDC.get("jobId")).isEqualTo("changed-by-the-host");
            assertThat(MDC.get("model")).isEqualTo("m");

            accessor.restore();
            assertThat(MDC.get("jobId")).isNull();
            assertThat(MDC.get("model")).isNull();
        } finally {
            MDC.clear();
        }
    }
}
