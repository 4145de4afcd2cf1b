package dev.beacon.runner.web.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.analysis.AnswerEmbedder;
import dev.beacon.runner.core.analysis.AnswerEmbedders;
import dev.beacon.runner.core.analysis.JobComparisons;
import dev.beacon.runner.web.testing.RunnerContexts;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * {@link RunnerAnalysisAutoConfiguration}'s class conditions. The embedding model is an optional
 * dependency: its class decides between the sentence-embedding configuration
 * ({@code @ConditionalOnClass}) and the token-Jaccard one ({@code @ConditionalOnMissingClass}), and
 * exactly one of them applies either way.
 */
class RunnerAnalysisAutoConfigurationClassConditionsTest {

    /** Only the model class is hidden: the condition names that class, not a package. */
    private static final FilteredClassLoader WITHOUT_MODEL = new FilteredClassLoader(AnswerEmbedders.MINILM_MODEL_CLASS);

    private final ApplicationContextRunner analysis = RunnerContexts.analysis();

    @Test
    void withTheModelClassSentenceEmbeddingsApplyAndTokenJaccardBacksOff() {
        analysis.run(context -> {
            assertThat(context).hasNotFailed()
                    .hasSingleBean(RunnerAnalysisAutoConfiguration.SentenceEmbeddings.class)
                    .doesNotHaveBean(RunnerAnalysisAutoConfiguration.TokenJaccard.class)
                    .hasSingleBean(AnswerEmbedder.class);
            assertThat(context.getBean(AnswerEmbedder.class).measure()).isEqualTo("embedding:all-MiniLM-L6-v2");
        });
    }

    @Test
    void withoutTheModelClassSentenceEmbeddingsBackOffAndTokenJaccardApplies() {
        analysis.withClassLoader(WITHOUT_MODEL).run(context -> {
            assertThat(context).hasNotFailed()
                    .doesNotHaveBean(RunnerAnalysisAutoConfiguration.SentenceEmbeddings.class)
                    .hasSingleBean(RunnerAnalysisAutoConfiguration.TokenJaccard.class)
                    .hasSingleBean(AnswerEmbedder.class);
            assertThat(context.getBean(AnswerEmbedder.class).measure()).isEqualTo("token-jaccard");
            // The comparisons are still there, on the fallback.
            assertThat(context.getBean(JobComparisons.class).builder().measure()).isEqualTo("token-jaccard");
        });
    }

    @Test
    void withoutTheModelClassAHostsEmbedderStillWins() {
        AnswerEmbedder own = AnswerEmbedders.tokenJaccard();

        analysis.withClassLoader(WITHOUT_MODEL).withBean(AnswerEmbedder.class, () -> own).run(context -> {
            assertThat(context).hasNotFailed().hasSingleBean(AnswerEmbedder.class);
            assertThat(context.getBean(AnswerEmbedder.class)).isSameAs(own);
        });
    }
}
