package dev.beacon.runner.core.analysis;

import java.util.Arrays;

/**
 * A sentence embedding scaled to length 1, so that cosine similarity is a dot product. The empty
 * vector stands for a text without words: it is similar (1) only to another empty vector.
 */
public final class UnitVector implements AnswerEmbedding {

    /** The embedding of a blank text. */
    public static final UnitVector EMPTY = new UnitVector(new float[0], true);

    private final float[] components;

    private UnitVector(float[] components, boolean owned) {
        this.components = owned ? components : components.clone();
    }

    /**
     * Scales {@code components} to unit length (a copy; the argument is not changed).
     *
     * @throws IllegalArgumentException if the vector is empty, zero or not finite
     */
    public static UnitVector of(float[] components) {
        if (components == null || components.length == 0) {
            throw new IllegalArgumentException("components must be a non-empty vector, but was "
                    + (components == null ? "null" : "empty"));
        }
        double squares = 0;
        for (float c : components) {
            squares += (double) c * c;
        }
        if (!(squares > 0) || Double.isInfinite(squares)) {
            throw new IllegalArgumentException("components must have a finite, non-zero length, but had squared length " + squares);
        }
        float[] scaled = new float[components.length];
        double norm = Math.sqrt(squares);
        for (int i = 0; i < components.length; i++) {
            scaled[i] = (float) (components[i] / norm);
        }
        return new UnitVector(scaled, true);
    }

    /** Number of dimensions; 0 for {@link #EMPTY}. */
    public int dimensions() {
        return components.length;
    }

    /** Cosine similarity, clamped to [-1, 1]; 1 for two empty vectors, 0 for one. */
    @Override
    public double similarity(AnswerEmbedding other) {
        if (!(other instanceof UnitVector that)) {
            throw new IllegalArgumentException("other must be a UnitVector, but was " + other.getClass().getSimpleName());
        }
        if (components.length == 0 || that.components.length == 0) {
            return components.length == that.components.length ? 1.0 : 0.0;
        }
        if (components.length != that.components.length) {
            throw new IllegalArgumentException("other must have " + components.length + " dimensions, but had " + that.components.length);
        }
        double dot = 0;
        for (int i = 0; i < components.length; i++) {
            dot += (double) components[i] * that.components[i];
        }
        return Math.max(-1.0, Math.min(1.0, dot));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof UnitVector that && Arrays.equals(components, that.components);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(components);
    }

    @Override
    public String toString() {
        return "UnitVector[" + components.length + " dimensions]";
    }
}
