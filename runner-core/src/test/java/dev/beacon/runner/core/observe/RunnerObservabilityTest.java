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
}
