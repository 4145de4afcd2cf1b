package dev.beacon.runner.web.autoconfigure;

import dev.beacon.runner.core.analysis.AnswerEmbedder;
import dev.beacon.runner.core.analysis.AnswerEmbedders;
import dev.beacon.runner.core.analysis.AnswerEmbeddingCache;
import dev.beacon.runner.core.analysis.ComparisonBuilder;
import dev.beacon.runner.core.analysis.JobComparisons;
import dev.beacon.runner.web.config.BeaconRunnerProperties;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingClass;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The comparison's analysis: an {@link AnswerEmbedder} (all-MiniLM-L6-v2 when langchain4j's model is on
 * the class path, token Jaccard otherwise) and the {@link JobComparisons} that computes comparisons with
 * it on a {@code beacon-analysis} scheduler of its own (a thread per core), disposed with the context.
 * Statistics come from {@code beacon.runner.analysis.*}. Hosts replace either bean by declaring their own.
 */
@AutoConfiguration(before = RunnerServiceAutoConfiguration.class)
@EnableConfigurationProperties(BeaconRunnerProperties.class)
public final class RunnerAnalysisAutoConfiguration {

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    JobComparisons beaconJobComparisons(AnswerEmbedder embedder, BeaconRunnerProperties properties) {
        ComparisonBuilder builder = new ComparisonBuilder(new AnswerEmbeddingCache(embedder), properties.toAnalysisSettings());
        return JobComparisons.withOwnScheduler(builder);
    }

    /** Sentence embeddings, when the model is on the class path; the model loads on the first comparison. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = AnswerEmbedders.MINILM_MODEL_CLASS)
    static final class SentenceEmbeddings {

        @Bean
        @ConditionalOnMissingBean
        AnswerEmbedder beaconAnswerEmbedder() {
            return AnswerEmbedders.miniLm();
        }
    }

    /** Token Jaccard, for a host that leaves the model out. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnMissingClass(AnswerEmbedders.MINILM_MODEL_CLASS)
    static final class TokenJaccard {

        @Bean
        @ConditionalOnMissingBean
        AnswerEmbedder beaconAnswerEmbedder() {
            return AnswerEmbedders.tokenJaccard();
        }
    }
}
