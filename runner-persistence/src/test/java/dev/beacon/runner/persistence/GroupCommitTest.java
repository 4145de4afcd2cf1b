package dev.beacon.runner.persistence;

import static org.assertj.core.api.Assertions.assertThat;

import dev.beacon.runner.persistence.GroupCommit.Outcome;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;

class GroupCommitTest {

    @Test
    void writesArrivingWhileABatchIsInFlightShareTheNextBatch() {
        List<List<Integer>> batches = new CopyOnWriteArrayList<>();
        Sinks.One<Void> gate = Sinks.one();
        var commit = new GroupCommit<Integer, Integer>(10, 1, items -> {
            batches.add(items);
            Mono<Void> wait = batches.size() == 1 ? gate.asMono() : Mono.empty();
            return wait.thenReturn(items.stream().map(i -> Outcome.of(i * 10)).toList());
        });

        var results = Flux.range(0, 25).flatMap(commit::submit, 25).collectList().toFuture();
        gate.tryEmitEmpty();

        assertThat(results.join()).containsExactlyInAnyOrderElementsOf(Flux.range(0, 25).map(i -> i * 10).collectList().block());
        assertThat(batches.get(0)).containsExactly(0); // a lone write starts at once
        assertThat(batches.subList(1, batches.size())).extracting(List::size).containsExactly(10, 10, 4);
    }

    @Test
    void withKeysAKeyHasOneBatchInFlightWhileOtherKeysRunBesideIt() {
        // Items are "key:n". Key a's first batch is held open; the rest of a waits for it and then
        // goes in one batch, although slots are free; key b's items are written meanwhile.
        List<List<String>> batches = new CopyOnWriteArrayList<>();
        Sinks.One<Void> gate = Sinks.one();
        var commit = new GroupCommit<String, String>(10, 4, item -> item.substring(0, 1), items -> {
            batches.add(items);
            Mono<Void> wait = items.contains("a:0") ? gate.asMono() : Mono.empty();
            return wait.thenReturn(items.stream().map(Outcome::of).toList());
        });

        var first = commit.submit("a:0").toFuture();
        var rest = Flux.just("a:1", "b:0", "a:2", "b:1", "a:3").flatMap(commit::submit, 5).collectList().toFuture();
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> batches.stream().mapToLong(List::size).sum() == 3);
        assertThat(batches).containsExactly(List.of("a:0"), List.of("b:0"), List.of("b:1"));

        gate.tryEmitEmpty();

        assertThat(first.join()).isEqualTo("a:0");
        assertThat(rest.join()).containsExactlyInAnyOrder("a:1", "b:0", "a:2", "b:1", "a:3");
        assertThat(batches.get(3)).containsExactly("a:1", "a:2", "a:3");
        assertThat(commit.items()).isEqualTo(6);
    }

    @Test
    void aFailedBatchIsRetriedItemByItemSoOnlyTheBadItemFails() {
        Sinks.One<Void> gate = Sinks.one();
        List<Integer> sizes = new CopyOnWriteArrayList<>();
        var commit = new GroupCommit<Integer, Integer>(10, 1, items -> {
            sizes.add(items.size());
            Mono<Void> wait = sizes.size() == 1 ? gate.asMono() : Mono.empty();
            return wait.then(items.contains(3) ? Mono.error(new IllegalStateException("bad 3"))
                    : Mono.just(items.stream().map(Outcome::of).toList()));
        });

        Mono<Integer> first = commit.submit(0);
        first.subscribe();
        List<Mono<Integer>> rest = List.of(commit.submit(1), commit.submit(2), commit.submit(3), commit.submit(4));
        rest.forEach(m -> m.onErrorResume(e -> Mono.empty()).subscribe());

        StepVerifier.create(Flux.concat(rest.subList(0, 2)))
                .then(gate::tryEmitEmpty)
                .expectNext(1, 2).expectComplete().verify(Duration.ofSeconds(5));
    }

    @Test
    void emptyOutcomesCompleteEmptyAndErrorsReachTheirCallerOnly() {
        var commit = new GroupCommit<Integer, Integer>(10, 2, items -> Mono.just(items.stream()
                .map(i -> i == 0 ? Outcome.<Integer>empty() : i == 1 ? Outcome.<Integer>failed(new IllegalArgumentException("one")) : Outcome.of(i))
                .toList()));

        StepVerifier.create(commit.submit(0)).expectComplete().verify(Duration.ofSeconds(5));
        StepVerifier.create(commit.submit(1)).expectErrorMessage("one").verify(Duration.ofSeconds(5));
        StepVerifier.create(commit.submit(2)).expectNext(2).expectComplete().verify(Duration.ofSeconds(5));
    }

    @Test
    void itemsSubmittedTogetherShareABatchWhereOneByOneTheFirstWouldGoAlone() {
        List<List<Integer>> batches = new CopyOnWriteArrayList<>();
        var commit = new GroupCommit<Integer, Integer>(3, 2, items -> {
            batches.add(items);
            return Mono.just(items.stream().map(i -> i == 4 ? Outcome.<Integer>empty() : Outcome.of(i * 10)).toList());
        });

        StepVerifier.create(commit.submitAll(List.of(1, 2, 3, 4)))
                .expectNext(List.of(Outcome.of(10), Outcome.of(20), Outcome.of(30), Outcome.<Integer>empty()))
                .expectComplete()
                .verify(Duration.ofSeconds(5));
        assertThat(batches).as("in order, as large as maxBatch allows").containsExactly(List.of(1, 2, 3), List.of(4));
        StepVerifier.create(commit.submitAll(List.of())).expectNext(List.of()).expectComplete().verify(Duration.ofSeconds(5));
    }

    @Test
    void itemsSubmittedTogetherErrWithTheFirstErrorOnceAllAreWritten() {
        List<Integer> written = new CopyOnWriteArrayList<>();
        var commit = new GroupCommit<Integer, Integer>(10, 1, items -> {
            written.addAll(items);
            return Mono.just(items.stream().map(i -> i == 2 ? Outcome.<Integer>failed(new IllegalArgumentException("two")) : Outcome.of(i)).toList());
        });

        StepVerifier.create(commit.submitAll(List.of(1, 2, 3))).expectErrorMessage("two").verify(Duration.ofSeconds(5));
        assertThat(written).containsExactly(1, 2, 3);
    }

    @Test
    void itemsSubmittedTogetherAndCancelledBeforeTheirBatchAreNeverWritten() {
        Sinks.One<Void> gate = Sinks.one();
        List<Integer> written = new CopyOnWriteArrayList<>();
        var commit = new GroupCommit<Integer, Integer>(10, 1, items -> {
            written.addAll(items);
            return gate.asMono().thenReturn(items.stream().map(Outcome::of).toList());
        });
        var first = commit.submit(0).toFuture();

        commit.submitAll(List.of(1, 2)).subscribe().dispose(); // queued behind the batch in flight, then cancelled
        gate.tryEmitEmpty();

        assertThat(first.join()).isZero();
        StepVerifier.create(commit.submit(3)).expectNext(3).expectComplete().verify(Duration.ofSeconds(5));
        assertThat(written).containsExactly(0, 3);
    }

    @Test
    void withKeysAndFreeSlotsTheKeysAreSharedOutSoBatchesRunSideBySide() {
        // Keys a-d, 8 items each, queued at once with 2 free slots: without sharing, the first batch
        // would take every key and leave the second slot nothing.
        List<List<String>> batches = new CopyOnWriteArrayList<>();
        Sinks.One<Void> gate = Sinks.one();
        var commit = new GroupCommit<String, String>(100, 2, item -> item.substring(0, 1), items -> {
            batches.add(items);
            return gate.asMono().thenReturn(items.stream().map(Outcome::of).toList());
        });
        List<String> items = new java.util.ArrayList<>();
        for (int i = 0; i < 8; i++) {
            for (String k : List.of("a", "b", "c", "d")) {
                items.add(k + ":" + i);
            }
        }

        var all = commit.submitAll(items).toFuture();
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> batches.size() == 2);
        gate.tryEmitEmpty();

        assertThat(all.join()).hasSize(32);
        assertThat(batches).extracting(b -> b.stream().map(i -> i.substring(0, 1)).distinct().sorted().toList())
                .containsExactly(List.of("a", "b"), List.of("c", "d"));
        assertThat(batches).extracting(List::size).containsExactly(16, 16);
    }

    @Test
    void fewItemsAreNotSharedOutButGoInOneBatch() {
        List<List<String>> batches = new CopyOnWriteArrayList<>();
        var commit = new GroupCommit<String, String>(100, 2, item -> item.substring(0, 1),
                items -> {
                    batches.add(items);
                    return Mono.just(items.stream().map(Outcome::of).toList());
                });
        List<String> items = List.of("a:0", "b:0", "c:0", "d:0", "a:1", "b:1"); // fewer than 2 x MIN_SHARED_BATCH

        StepVerifier.create(commit.submitAll(items)).expectNextCount(1).expectComplete().verify(Duration.ofSeconds(5));
        assertThat(batches).containsExactly(items);
    }
}
