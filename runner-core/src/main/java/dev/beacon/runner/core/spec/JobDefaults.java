package dev.beacon.runner.core.spec;

/** The values a job gets for every optional field it leaves out. */
public record JobDefaults(InferenceParams params, JobLimits limits, double minSuccessRate) {

    public static final JobDefaults DEFAULT = new JobDefaults(InferenceParams.DEFAULT, JobLimits.DEFAULT, 0.67);

    public JobDefaults {
        if (!(minSuccessRate >= 0 && minSuccessRate <= 1)) {
            throw new IllegalArgumentException("minSuccessRate must be between 0 and 1, but was " + minSuccessRate);
        }
    }
}
