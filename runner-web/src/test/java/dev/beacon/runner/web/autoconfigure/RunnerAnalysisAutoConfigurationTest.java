package dev.beacon.runner.web.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.analysis.AnalysisSettings;
import dev.beacon.runner.core.analysis.AnswerEmbedder;
import dev.beacon.runner.core.analysis.AnswerEmbedders;
import dev.beacon.runner.core.analysis.JobComparisons;
import dev.beacon.runner.core.testing.AnswerCorpus;
import dev.beacon.runner.core.spec.InferenceParams;
import dev.beacon.runner.core.spec.JobLimits;
import dev.beacon.runner.core.spec.JobSpec;
import dev.beacon.runner.core.spec.ModelSelection;
import dev.beacon.runner.web.testing.RunnerContexts;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import reactor.test.StepVerifier;

/** The analysis auto-configuration: which embedder, which settings, who wins, and what bad settings do. */
class RunnerAnalysisAutoConfigurationTest {

    private final ApplicationContextRunner analysis = RunnerContexts.analysis();

    @Test
    void withTheModelOnTheClassPathComparisonsUseSentenceEmbeddingsAndTheContractsDefaults() {
        analysis.run(context -> {
            assertThat(context).hasNotFailed();
            assertThat(context.getBean(AnswerEmbedder.class).measure()).isEqualTo("embedding:all-MiniLM-L6-v2");
            assertThat(context.getBean(JobComparisons.class).builder().settings()).isEqualTo(AnalysisSettings.DEFAULT);
        });
    }

    @Test
    void withoutTheModelClassComparisonsFallBackToTokenJaccard() {
        analysis.withClassLoader(new FilteredClassLoader("dev.langchain4j."))
                .run(context -> assertThat(context.getBean(JobComparisons.class).builder().measure()).isEqualTo("token-jaccard"));
    }

    @Test
    void aHostsEmbedderWins() {
        AnswerEmbedder own = AnswerEmbedders.tokenJaccard();

        analysis.withBean(AnswerEmbedder.class, () -> own)
                .run(context -> assertThat(context.getBean(AnswerEmbedder.class)).isSameAs(own));
    }

    @Test
    void alphaAndPermutationsAreBound() {
        analysis.withPropertyValues("beacon.runner.analysis.alpha=0.1", "beacon.runner.analysis.permutations=999")
                .run(context -> assertThat(context.getBean(JobComparisons.class).builder().settings())
                        .isEqualTo(new AnalysisSettings(0.1, 999)));
    }

    @Test
    void badAlphaOrPermutationsFailStartUpNamingTheProperty() {
        analysis.withPropertyValues("beacon.runner.analysis.alpha=1.5")
                .run(context -> assertThat(rootCause(context.getStartupFailure()))
                        .isInstanceOf(InvalidConfigurationPropertyValueException.class)
                        .hasMessageContaining("beacon.runner.analysis.alpha"));
        analysis.withPropertyValues("beacon.runner.analysis.permutations=50")
                .run(context -> assertThat(rootCause(context.getStartupFailure()))
                        .isInstanceOf(InvalidConfigurationPropertyValueException.class)
                        .hasMessageContaining("beacon.runner.analysis.permutations")
                        .hasMessageContaining("between 99 and 1000000"));
    }

    @Test
    void closingTheContextDisposesTheAnalysisScheduler() {
        JobSpec spec = new JobSpec("closed", AnswerCorpus.QUESTIONS.subList(0, 1), List.of(new ModelSelection("m", List.of("eu", "us"))),
                InferenceParams.DEFAULT, JobLimits.DEFAULT, 0.67, Map.of(), 1);
        analysis.withPropertyValues().run(context -> {
            JobComparisons comparisons = context.getBean(JobComparisons.class);
            context.close();

            StepVerifier.create(comparisons.compare("job", spec, List.of()))
                    .expectError(java.util.concurrent.RejectedExecutionException.class)
                    .verify(Duration.ofSeconds(10));
        });
    }

    private static Throwable rootCause(Throwable t) {
        Throwable cause = t;
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        return cause;
    }
}
