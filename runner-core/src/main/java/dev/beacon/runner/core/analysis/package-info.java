/**
 * The comparison of the README's "Comparison: the region-effect test and refusals" and the drift
 * between runs: {@link dev.beacon.runner.core.analysis.ComparisonBuilder} and
 * {@link dev.beacon.runner.core.analysis.RunDrift} over answer embeddings and their cache, the refusal
 * classifier, the region-effect permutation test, Benjamini–Hochberg q-values and Wilson intervals
 * (package-private: only the builder uses them). That is plain blocking CPU work with no Reactor in
 * it; {@link dev.beacon.runner.core.analysis.JobComparisons} runs it on a bounded scheduler of its own,
 * never on an event loop.
 */
@NullMarked
package dev.beacon.runner.core.analysis;

import org.jspecify.annotations.NullMarked;
