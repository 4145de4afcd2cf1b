package dev.beacon.runner.core.evidence;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256, the one hash of receipts, seals and spec hashes. */
public final class Sha256 {

    /** SHA-256 of no bytes: the {@code outputSha256} of a cell that has no answer. */
    public static final String OF_EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    private Sha256() {
    }

    public static byte[] digest(byte[] bytes) {
        return newDigest().digest(bytes);
    }

    /** Lower-case hex of the SHA-256 of {@code bytes}. */
    public static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(digest(bytes));
    }

    /** Lower-case hex of the SHA-256 of the UTF-8 bytes of {@code text}. */
    public static String hex(String text) {
        return hex(text.getBytes(StandardCharsets.UTF_8));
    }

    /** The first 8 bytes of the SHA-256 of the UTF-8 bytes of {@code text}, big-endian: a stable 64-bit key or seed. */
    public static long prefixLong(String text) {
        byte[] hash = digest(text.getBytes(StandardCharsets.UTF_8));
        long value = 0;
        for (int i = 0; i < Long.BYTES; i++) {
            value = (value << 8) | (hash[i] & 0xff);
        }
        return value;
    }

    /** The SHA-256 of the UTF-8 bytes of {@code text}. */
    public static byte[] digest(String text) {
        return digest(text.getBytes(StandardCharsets.UTF_8));
    }

    static MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JVM has SHA-256", e);
        }
    }
}
