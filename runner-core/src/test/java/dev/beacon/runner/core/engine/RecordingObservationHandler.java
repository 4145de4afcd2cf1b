package dev.beacon.runner.core.engine;

import io.micrometer.common.KeyValue;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationHandler;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

/** Records every observation started and stopped, with its parent, for assertions on the shape of a trace. */
final class RecordingObservationHandler implements ObservationHandler<Observation.Context> {

    final List<Observation.Context> started = new CopyOnWriteArrayList<>();
    final List<Observation.Context> stopped = new CopyOnWriteArrayList<>();
    final List<Observation.Context> failed = new CopyOnWriteArrayList<>();

    @Override
    public void onStart(Observation.Context context) {
        started.add(context);
    }

    @Override
    public void onError(Observation.Context context) {
        failed.add(context);
    }

    @Override
    public void onStop(Observation.Context context) {
        stopped.add(context);
    }

    @Override
    public boolean supportsContext(Observation.Context context) {
        return true;
    }

    List<Observation.Context> started(String name) {
        return started.stream().filter(c -> name.equals(c.getName())).toList();
    }

    static Observation.Context parentOf(Observation.Context context) {
        return context.getParentObservation() == null ? null : (Observation.Context) context.getParentObservation().getContextView();
    }

    static Map<String, String> low(Observation.Context context) {
        return context.getLowCardinalityKeyValues().stream().collect(Collectors.toMap(KeyValue::getKey, KeyValue::getValue));
    }

    static Map<String, String> high(Observation.Context context) {
        return context.getHighCardinalityKeyValues().stream().collect(Collectors.toMap(KeyValue::getKey, KeyValue::getValue));
    }
}
