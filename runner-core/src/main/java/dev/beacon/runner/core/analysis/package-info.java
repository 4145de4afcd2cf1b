/**
 * The statistics behind the comparison of the README's "Comparison: the region-effect test and refusals": answer embeddings and their cache,
 * the refusal classifier, the region-effect permutation test, Benjamini–Hochberg q-values and Wilson
 * intervals. Everything here is plain blocking CPU work with no Reactor in it: callers run it on a
 * bounded scheduler of their own (never on an event loop), see
 * {@link dev.beacon.runner.core.service.ComparisonBuilder}.
 */
@NullMarked
package dev.beacon.runner.core.analysis;

import org.jspecify.annotations.NullMarked;
