package dev.beacon.runner.core.analysis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.Question;
import dev.beacon.runner.core.spec.JobSpec;
import dev.beacon.runner.core.spec.ModelSelection;
import dev.beacon.runner.core.testing.AnswerCorpus;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/** Where and how comparisons run: on the analysis scheduler, with errors and cancellation as documented. */
class JobComparisonsTest {

    private static final String JOB = "0f5e6a2c-0000-4000-8000-000000000002";
    private static final ModelSelection MISTRAL = new ModelSelection("mistral-7b", List.of("eu", "asia"));

    @Test
    void comparisonRunsOnTheAnalysisSchedulerNeverOnTheSubscribersThread() {
        Set<String> threads = ConcurrentHashMap.newKeySet();
        AnswerEmbeddingCache cache = new AnswerEmbeddingCache(AnswerEmbedders.miniLm());
        ComparisonBuilder builder = new ComparisonBuilder(cache, RefusalClassifier.forEmbeddings(cache), AnalysisSettings.DEFAULT, row -> {
            threads.add(Thread.currentThread().getName());
            return null;
        });
        List<Question> questions = AnswerCorpus.QUESTIONS.subList(0, 4);
        JobSpec spec = ComparisonBuilderTest.spec(3, questions, MISTRAL);
        List<ExecutionResult> rows = rows(questions, 3);

        try (JobComparisons comparisons = JobComparisons.withOwnScheduler(builder)) {
            // Subscribed from a parallel (non-blocking) thread: BlockHound fails the test if the model's
            // loading or embedding ran there.
            StepVerifier.create(Mono.defer(() -> comparisons.compare(JOB, spec, rows)).subscribeOn(Schedulers.parallel()))
                    .assertNext(c -> assertThat(c.questions()).hasSize(4))
                    .expectComplete()
                    .verify(Duration.ofMinutes(1));
        }

        assertThat(threads).isNotEmpty().allSatisfy(name -> assertThat(name).startsWith("beacon-analysis"));
    }

    @Test
    void anEmbeddingFailureFailsTheComparison() {
        AnswerEmbedder broken = new AnswerEmbedder() {
            @Override
            public String measure() {
                return "embedding:broken";
            }

            @Override
            public List<AnswerEmbedding> embed(List<String> texts) {
                throw new IllegalStateException("model could not be loaded");
            }
        };
        List<Question> questions = AnswerCorpus.QUESTIONS.subList(0, 2);
        try (JobComparisons comparisons = JobComparisons.withOwnScheduler(
                new ComparisonBuilder(new AnswerEmbeddingCache(broken), AnalysisSettings.DEFAULT))) {
            StepVerifier.create(comparisons.compare(JOB, ComparisonBuilderTest.spec(2, questions, MISTRAL), rows(questions, 2)))
                    .expectErrorMessage("model could not be loaded")
                    .verify(Duration.ofSeconds(30));
        }
    }

    @Test
    void aCancelledComparisonStartsNoFurtherQuestion() throws InterruptedException {
        CountDownLatch firstStarted = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Set<String> started = ConcurrentHashMap.newKeySet();
        AnswerEmbeddingCache cache = new AnswerEmbeddingCache(AnswerEmbedders.tokenJaccard());
        ComparisonBuilder builder = new ComparisonBuilder(cache, RefusalClassifier.forEmbeddings(cache), AnalysisSettings.DEFAULT, row -> {
            if (started.add(row.cell().questionId()) && started.size() == 1) {
                firstStarted.countDown();
                await(release);
            }
            return null;
        });
        List<Question> questions = AnswerCorpus.QUESTIONS;
        Scheduler oneThread = Schedulers.newBoundedElastic(1, 100, "analysis-test");
        try {
            JobComparisons comparisons = new JobComparisons(builder, oneThread, 1);
            Disposable subscription = comparisons.compare(JOB, ComparisonBuilderTest.spec(2, questions, MISTRAL), rows(questions, 2))
                    .subscribe();
            assertThat(firstStarted.await(30, TimeUnit.SECONDS)).isTrue();

            subscription.dispose();
            release.countDown();
            // Runs after anything the cancelled comparison could still have queued on the one thread.
            Mono.fromCallable(() -> true).subscribeOn(oneThread).block(Duration.ofSeconds(30));

            assertThat(started).hasSize(1);
        } finally {
            oneThread.dispose();
        }
    }

    private static List<ExecutionResult> rows(List<Question> questions, int samples) {
        SplittableRandom random = new SplittableRandom(21);
        List<ExecutionResult> rows = new ArrayList<>();
        for (Question q : questions) {
            rows.addAll(ComparisonBuilderTest.regionsAnswering(random, q.id(), MISTRAL, samples, "asia"));
        }
        return rows;
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
