package dev.beacon.runner.core.evidence;

import java.security.MessageDigest;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The Merkle tree hash of RFC 6962 §2.1 over SHA-256: a leaf is {@code SHA-256(0x00 ‖ data)}, a node
 * {@code SHA-256(0x01 ‖ left ‖ right)}, a list of n &gt; 1 leaves splits at the largest power of two
 * below n, and the hash of no leaves is {@code SHA-256()} of nothing. Any changed, added, removed or
 * reordered leaf changes the root.
 */
public final class MerkleTree {

    private MerkleTree() {
    }

    /** The root hash over {@code leaves}, in their order. */
    public static byte[] root(List<byte[]> leaves) {
        if (leaves.isEmpty()) {
            return Sha256.digest(new byte[0]);
        }
        byte[][] level = new byte[leaves.size()][];
        for (int i = 0; i < level.length; i++) {
            level[i] = hash((byte) 0x00, leaves.get(i), null);
        }
        return subtree(level, 0, level.length);
    }

    /** RFC 6962's recursion, over leaf hashes {@code [from, to)}: split at the largest power of two below the size. */
    private static byte[] subtree(byte[][] leafHashes, int from, int to) {
        int n = to - from;
        if (n == 1) {
            return leafHashes[from];
        }
        int k = Integer.highestOneBit(n - 1);
        return hash((byte) 0x01, subtree(leafHashes, from, from + k), subtree(leafHashes, from + k, to));
    }

    private static byte[] hash(byte prefix, byte[] first, byte @Nullable [] second) {
        MessageDigest digest = Sha256.newDigest();
        digest.update(prefix);
        digest.update(first);
        if (second != null) {
            digest.update(second);
        }
        return digest.digest();
    }
}
