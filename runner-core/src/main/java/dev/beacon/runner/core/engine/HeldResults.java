package dev.beacon.runner.core.engine;

import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.event.StoredEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;

/**
 * The results of one question that arrive before the question's boundary events ({@code question.finished}
 * of the one before, {@code question.started} of this one) are stored: they wait, since the event log
 * keeps its order, and are then stored together ({@link JobJournal#appendAll}), so that a store that
 * groups commits writes them as one group instead of a group of the first and another of the rest.
 * Results that arrive after the release are stored one by one, as they come.
 */
final class HeldResults {

    private record Held(ExecutionResult result, MonoSink<Optional<StoredEvent>> sink) {
    }

    private final Object lock = new Object();
    /** {@code null} once released. */
    private @Nullable List<Held> held = new ArrayList<>();
    /** Set once released: then results are stored at once, without taking the lock. */
    private volatile boolean released;

    /**
     * Stores {@code result} with {@code one} if the hold was released, else waits for the release and
     * is stored with the others held. Emits what was stored (empty: nothing, the cell had its row).
     * On error emits the store's error; on cancel before the release the result is not stored.
     */
    Mono<StoredEvent> store(ExecutionResult result, Function<ExecutionResult, Mono<StoredEvent>> one) {
        return Mono.defer(() -> released ? one.apply(result) : Mono.<Optional<StoredEvent>>create(sink -> {
            Held h = new Held(result, sink);
            boolean queued;
            synchronized (lock) {
                queued = held != null;
                if (held != null) {
                    held.add(h);
                }
            }
            if (queued) {
                sink.onCancel(() -> {
                    synchronized (lock) {
                        if (held != null) {
                            held.remove(h);
                        }
                    }
                });
                return;
            }
            // Released between the check and now: stored alone, in the caller's context (its lease).
            Disposable storing = one.apply(result).map(Optional::of).defaultIfEmpty(Optional.empty())
                    .contextWrite(sink.contextView())
                    .subscribe(sink::success, sink::error);
            sink.onCancel(storing);
        }).flatMap(Mono::justOrEmpty));
    }

    /**
     * Releases the hold: every result held so far is stored with {@code all} (one outcome per result, in
     * order), later ones one by one. Completes once the held ones are stored; on error, every held
     * result's {@link #store} emits the error too. On cancel the held results' stores are cancelled.
     */
    Mono<Void> release(Function<List<ExecutionResult>, Mono<List<Optional<StoredEvent>>>> all) {
        return Mono.defer(() -> {
            List<Held> taken;
            synchronized (lock) {
                taken = held == null ? List.of() : List.copyOf(held);
                held = null;
                released = true;
            }
            if (taken.isEmpty()) {
                return Mono.empty();
            }
            return all.apply(taken.stream().map(Held::result).toList())
                    .doOnNext(outcomes -> {
                        for (int i = 0; i < taken.size(); i++) {
                            taken.get(i).sink().success(outcomes.get(i));
                        }
                    })
                    .doOnError(e -> taken.forEach(h -> h.sink().error(e)))
                    .then();
        });
    }
}
