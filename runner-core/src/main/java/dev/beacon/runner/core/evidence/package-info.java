/** Receipt and seal payloads, the RFC 6962 Merkle root, SHA-256 and the offline {@link BundleVerifier}. */
@NullMarked
package dev.beacon.runner.core.evidence;

import org.jspecify.annotations.NullMarked;
