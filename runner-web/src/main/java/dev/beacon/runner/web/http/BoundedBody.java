package dev.beacon.runner.web.http;

import dev.beacon.runner.core.spec.FieldError;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.OptionalLong;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferLimitException;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.http.HttpStatus;
import org.springframework.web.reactive.function.BodyExtractors;
import org.springframework.web.reactive.function.server.ServerRequest;
import reactor.core.publisher.Mono;

/**
 * Reads a request body as UTF-8 text of at most {@code maxBytes} bytes. A declared
 * {@code Content-Length} over the limit is refused before a byte is read; an undeclared (chunked) body
 * is counted while it arrives and refused as soon as it passes the limit, so no more than
 * {@code maxBytes} are ever held in memory.
 */
final class BoundedBody {

    private final long maxBytes;

    BoundedBody(long maxBytes) {
        if (maxBytes < 1 || maxBytes > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("maxBytes must be between 1 and 2 GiB, but was " + maxBytes);
        }
        this.maxBytes = maxBytes;
    }

    /**
     * Emits the body as text ({@code ""} for none). Errors with a 413 {@link ApiProblem} for a body over
     * the limit and a 400 one for bytes that are not UTF-8; the buffers read so far are released
     * either way. On cancel, reading stops and buffers are released.
     */
    Mono<String> read(ServerRequest request) {
        OptionalLong declared = request.headers().contentLength();
        if (declared.isPresent() && declared.getAsLong() > maxBytes) {
            return Mono.error(tooLarge("Content-Length is " + declared.getAsLong()));
        }
        return DataBufferUtils.join(request.body(BodyExtractors.toDataBuffers()), (int) maxBytes)
                .onErrorMap(DataBufferLimitException.class, e -> tooLarge("the body is longer"))
                .map(BoundedBody::decode)
                .defaultIfEmpty("");
    }

    private ApiProblem tooLarge(String actual) {
        String message = "must be at most " + maxBytes + " bytes, but " + actual;
        return ApiProblem.of(HttpStatus.CONTENT_TOO_LARGE, "body-too-large", "the request body " + message, new FieldError("$", message));
    }

    private static String decode(DataBuffer buffer) {
        try {
            ByteBuffer bytes = ByteBuffer.allocate(buffer.readableByteCount());
            buffer.toByteBuffer(bytes);
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(bytes)
                    .toString();
        } catch (CharacterCodingException e) {
            throw ApiProblem.badRequest("$", "body must be UTF-8 encoded JSON");
        } finally {
            DataBufferUtils.release(buffer);
        }
    }
}
