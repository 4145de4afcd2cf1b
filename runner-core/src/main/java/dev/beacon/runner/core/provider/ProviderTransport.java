package dev.beacon.runner.core.provider;

import dev.beacon.runner.core.domain.ExecutionError;
import io.netty.buffer.Unpooled;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.timeout.ReadTimeoutException;
import io.netty.handler.timeout.WriteTimeoutException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Exceptions;
import reactor.core.publisher.Mono;
import reactor.netty.ByteBufFlux;
import reactor.netty.channel.AbortedException;
import reactor.netty.http.client.HttpClient;
import reactor.netty.http.client.HttpClientResponse;
import reactor.netty.http.client.PrematureCloseException;
import tools.jackson.core.JacksonException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Sends JSON requests to one provider over the shared Reactor Netty client and turns every way an
 * exchange can go wrong into an {@link InferenceFailure} with a stable code and a short, fixed reason
 * that names the provider ("provider 'modal-eu': answered HTTP 503", "…: response is not valid JSON").
 *
 * <p>Failure messages are stored with the execution and shown to anyone who may read jobs, endpoints
 * or health, so they never carry what the remote side or the network said: no response body, no
 * exception text (which names hosts and addresses), no stack trace, no API key. That detail goes to
 * this class's DEBUG log only, shortened and with the API key blanked out.
 *
 * <p>Bodies of successful responses are read up to a byte limit and rejected as
 * {@code BODY_TOO_LARGE} as soon as they pass it, so a runaway provider cannot fill the heap. Bodies
 * of other responses are only sampled (their first few KiB) for the DEBUG log.
 */
final class ProviderTransport {

    /** How much of a non-2xx body is read: enough to log a sample, no more. */
    static final int ERROR_BODY_SAMPLE_BYTES = 4 * 1024;
    /** How many characters of a response body or an error text the DEBUG log quotes. */
    static final int QUOTED_BODY_CHARS = 200;

    private static final Logger log = LoggerFactory.getLogger(ProviderTransport.class);
    /** A recorded header value is an id, not a document: longer values are cut. */
    private static final int MAX_RECORDED_HEADER_CHARS = 256;

    private final HttpClient http;
    private final JsonMapper json;
    private final String providerId;
    private final @Nullable String apiKey;
    private final int maxBodyBytes;
    private final Clock clock;
    /** Lower-case names of the response headers kept as provenance. */
    private final List<String> recordHeaders;

    ProviderTransport(HttpClient http, JsonMapper json, String providerId, @Nullable String apiKey, int maxBodyBytes, Clock clock,
                      List<String> recordHeaders) {
        this.recordHeaders = List.copyOf(recordHeaders);
        if (maxBodyBytes < 1) {
            throw new IllegalArgumentException("maxBodyBytes must be positive, but was " + maxBodyBytes);
        }
        this.http = http;
        this.json = json;
        this.providerId = providerId;
        this.apiKey = apiKey == null || apiKey.isBlank() ? null : apiKey;
        this.maxBodyBytes = maxBodyBytes;
        this.clock = clock;
    }

    String providerId() {
        return providerId;
    }

    ObjectNode newObject() {
        return json.createObjectNode();
    }

    /**
     * POSTs {@code body} as JSON and emits the parsed JSON object of a 2xx answer.
     *
     * <p>On error emits an {@link InferenceFailure}: {@code HTTP_nnn} for a non-2xx status,
     * {@code BAD_RESPONSE} for a body that is not a JSON object, or whatever {@link #exchange} maps.
     * On cancel closes the connection.
     */
    Mono<JsonReply> postJson(URI uri, ObjectNode body) {
        return exchange(HttpMethod.POST, uri, body, true).map(this::successReply);
    }

    /**
     * Sends one request ({@code body} as JSON, or no body when {@code null}) and emits the response,
     * whatever its status; sends the bearer token only if {@code withAuth} and the provider has one.
     *
     * <p>On error emits an {@link InferenceFailure}: {@code CONNECT} (retryable) when the connection
     * could not be made or broke before the response was complete, {@code TIMEOUT} (retryable) for a
     * Netty read/write timeout, {@code BODY_TOO_LARGE} for a 2xx body over the limit,
     * {@code BAD_RESPONSE} for a response that is not valid HTTP. On cancel Reactor Netty closes the
     * connection instead of returning it to the pool, because the response was not read to its end.
     */
    Mono<HttpReply> exchange(HttpMethod method, URI uri, @Nullable ObjectNode body, boolean withAuth) {
        return Mono.defer(() -> {
            byte[] payload = body == null ? null : json.writeValueAsBytes(body);
            HttpClient client = http.headers(h -> {
                h.set(HttpHeaderNames.ACCEPT, "application/json");
                if (payload != null) {
                    h.set(HttpHeaderNames.CONTENT_TYPE, "application/json");
                    h.setInt(HttpHeaderNames.CONTENT_LENGTH, payload.length);
                }
                if (withAuth && apiKey != null) {
                    h.set(HttpHeaderNames.AUTHORIZATION, "Bearer " + apiKey);
                }
            });
            var request = client.request(method).uri(uri);
            // A supplier, not Mono.just: Reactor Netty may resubscribe when it retries a stale pooled
            // connection, and a written buffer has already been released.
            var receiver = payload == null ? request : request.send(Mono.fromSupplier(() -> Unpooled.wrappedBuffer(payload)));
            return receiver.response(this::read).single();
        }).onErrorMap(this::translate);
    }

    private Mono<HttpReply> read(HttpClientResponse response, ByteBufFlux content) {
        int status = response.status().code();
        HttpHeaders headers = response.responseHeaders();
        String location = headers.get(HttpHeaderNames.LOCATION);
        String retryAfter = headers.get(HttpHeaderNames.RETRY_AFTER);
        Map<String, String> recorded = recorded(headers);
        boolean success = status >= 200 && status < 300;
        if (success) {
            long declared = declaredLength(headers);
            if (declared > maxBodyBytes) {
                return Mono.error(tooLarge("declares " + declared + " bytes"));
            }
        }
        int limit = success ? maxBodyBytes : ERROR_BODY_SAMPLE_BYTES;
        return Mono.defer(() -> {
            ReplyBytes collected = new ReplyBytes(limit);
            return content.asByteArray()
                    .<Void>handle((chunk, sink) -> {
                        if (!collected.append(chunk)) {
                            // Stopping early cancels the inbound, which closes the connection.
                            if (success) {
                                sink.error(tooLarge("is larger than " + limit + " bytes"));
                            } else {
                                sink.complete();
                            }
                        }
                    })
                    .then(Mono.fromSupplier(() -> new HttpReply(status, location, retryAfter, recorded, collected.bytes())));
        });
    }

    /** The configured headers the response carried; a value is kept to {@value #MAX_RECORDED_HEADER_CHARS} characters. */
    private Map<String, String> recorded(HttpHeaders headers) {
        Map<String, String> recorded = new LinkedHashMap<>();
        for (String name : recordHeaders) {
            String value = headers.get(name);
            if (value != null) {
                recorded.put(name, value.length() > MAX_RECORDED_HEADER_CHARS ? value.substring(0, MAX_RECORDED_HEADER_CHARS) : value);
            }
        }
        return recorded;
    }

    private static long declaredLength(HttpHeaders headers) {
        String value = headers.get(HttpHeaderNames.CONTENT_LENGTH);
        if (value == null) {
            return -1;
        }
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The JSON object of a 2xx reply with its recorded headers, or throws as {@link #successBody} does. */
    JsonReply successReply(HttpReply reply) {
        return new JsonReply(successBody(reply), reply.recorded());
    }

    /** Returns the JSON object of a 2xx reply, or throws the failure its status or body calls for. */
    JsonNode successBody(HttpReply reply) {
        if (!reply.successful()) {
            throw statusFailure(reply);
        }
        JsonNode root;
        try {
            root = json.readTree(reply.body());
        } catch (JacksonException e) {
            throw badResponse("response is not valid JSON", quote(reply.body()));
        }
        if (root == null || !root.isObject()) {
            throw badResponse("response is not a JSON object", quote(reply.body()));
        }
        return root;
    }

    /** Maps a non-2xx reply: 429 and 5xx are retryable and keep the provider's {@code Retry-After}. */
    InferenceFailure statusFailure(HttpReply reply) {
        InferenceFailure failure = InferenceFailure.forStatus(reply.status(),
                describe("answered HTTP " + reply.status()),
                RetryAfter.parse(reply.retryAfter(), clock));
        logDetail(failure, reply.body().length == 0 ? "(empty body)" : quote(reply.body()));
        return failure;
    }

    /** A required JSON string at {@code pointer} (e.g. {@code /choices/0/message/content}). */
    String requiredString(JsonNode root, String pointer) {
        JsonNode node = root.at(pointer);
        if (!node.isString()) {
            throw badResponse("response has no string at " + pointer);
        }
        return node.stringValue();
    }

    /** An optional JSON string at {@code pointer}; {@code null} if absent or not a string. */
    @Nullable String optionalString(JsonNode root, String pointer) {
        JsonNode node = root.at(pointer);
        return node.isString() ? node.stringValue() : null;
    }

    /** An optional token count at {@code pointer}; {@code null} if absent, a failure if not a count. */
    @Nullable Integer optionalCount(JsonNode root, String pointer) {
        JsonNode node = root.at(pointer);
        if (node.isMissingNode() || node.isNull()) {
            return null;
        }
        if (!node.isIntegralNumber() || !node.canConvertToInt() || node.intValue() < 0) {
            throw badResponse("response has an invalid count at " + pointer, shorten(node.toString()));
        }
        return node.intValue();
    }

    /** A {@code BAD_RESPONSE} whose message is {@code reason}, a fixed text of ours (never remote content). */
    InferenceFailure badResponse(String reason) {
        return InferenceFailure.permanent(ExecutionError.BAD_RESPONSE, describe(reason));
    }

    /** As {@link #badResponse(String)}, logging what the provider sent at DEBUG, never in the message. */
    InferenceFailure badResponse(String reason, String remoteDetail) {
        InferenceFailure failure = badResponse(reason);
        logDetail(failure, remoteDetail);
        return failure;
    }

    private InferenceFailure tooLarge(String what) {
        return InferenceFailure.permanent(ExecutionError.BODY_TOO_LARGE, describe("response body " + what));
    }

    /** Maps whatever Reactor Netty, Netty or the JDK threw to a failure with a stable code. */
    Throwable translate(Throwable error) {
        Throwable t = Exceptions.unwrap(error);
        if (t instanceof InferenceFailure) {
            return t;
        }
        // The exception's own text names hosts, addresses and ports: the log gets it, the message does not.
        InferenceFailure failure;
        if (t instanceof PrematureCloseException || t instanceof AbortedException) {
            failure = InferenceFailure.retryable(ExecutionError.CONNECT,
                    describe("connection closed before the response was complete"));
        } else if (t instanceof ReadTimeoutException || t instanceof WriteTimeoutException) {
            failure = InferenceFailure.retryable(ExecutionError.TIMEOUT, describe("no data within the read timeout"));
        } else if (t instanceof ConnectTimeoutException) {
            failure = InferenceFailure.retryable(ExecutionError.CONNECT, describe("connect timed out"));
        } else if (t instanceof ConnectException) {
            failure = InferenceFailure.retryable(ExecutionError.CONNECT, describe("connection refused"));
        } else if (t instanceof UnknownHostException) {
            failure = InferenceFailure.retryable(ExecutionError.CONNECT, describe("unknown host"));
        } else if (t instanceof SSLHandshakeException) {
            // A certificate or protocol mismatch does not heal by retrying.
            failure = InferenceFailure.permanent(ExecutionError.CONNECT, describe("TLS handshake failed"));
        } else if (t instanceof SSLException || t instanceof IOException) {
            failure = InferenceFailure.retryable(ExecutionError.CONNECT, describe("connection failed"));
        } else if (t.getClass().getSimpleName().startsWith("PoolAcquire")) {
            // Reactor Netty's shaded pool exceptions: no pooled connection became free in time.
            failure = InferenceFailure.retryable(ExecutionError.CONNECT, describe("no pooled connection available"));
        } else if (t instanceof DecoderException) {
            failure = InferenceFailure.permanent(ExecutionError.BAD_RESPONSE, describe("malformed HTTP response"));
        } else {
            failure = InferenceFailure.permanent(ExecutionError.INTERNAL, describe("failed unexpectedly"));
        }
        logDetail(failure, detail(t));
        return failure;
    }

    private String detail(Throwable t) {
        String message = t.getMessage();
        return t.getClass().getSimpleName() + (message == null || message.isBlank() ? "" : ": " + shorten(message));
    }

    /** What the remote side or the network said, for operators: DEBUG only, shortened, API key blanked. */
    private void logDetail(InferenceFailure failure, String detail) {
        if (log.isDebugEnabled()) {
            log.debug("{} [{}] {}", failure.getMessage(), failure.code(), shorten(detail));
        }
    }

    private String describe(String what) {
        return redact("provider '" + providerId + "': " + what);
    }

    private String quote(byte[] body) {
        int sampled = Math.min(body.length, QUOTED_BODY_CHARS * 8);
        String text = redact(new String(body, 0, sampled, StandardCharsets.UTF_8));
        if (apiKey != null && sampled < body.length) {
            // The cut may have split the key; drop a trailing piece of it.
            for (int n = Math.min(apiKey.length() - 1, text.length()); n >= 4; n--) {
                if (text.endsWith(apiKey.substring(0, n))) {
                    text = text.substring(0, text.length() - n);
                    break;
                }
            }
        }
        return shorten(text);
    }

    /** One line of at most {@link #QUOTED_BODY_CHARS} characters, with the API key blanked out, for the DEBUG log. */
    String quote(String text) {
        return shorten(text);
    }

    private String shorten(String text) {
        String line = redact(text).replaceAll("\\s+", " ").strip();
        return line.length() <= QUOTED_BODY_CHARS ? line : line.substring(0, QUOTED_BODY_CHARS) + "…";
    }

    /** Blanks out the API key wherever a provider or a library echoed it. */
    private String redact(String text) {
        return apiKey == null || text == null ? text : text.replace(apiKey, "***");
    }

    /**
     * Collects a reply body up to a byte limit. The web module's {@code BoundedBody} does the same for
     * request bodies, through Spring's buffers, which this module must not use.
     */
    private static final class ReplyBytes {
        private final int limit;
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        ReplyBytes(int limit) {
            this.limit = limit;
        }

        /** Appends what fits; returns {@code false} once the body went past the limit. */
        boolean append(byte[] chunk) {
            int room = limit - bytes.size();
            bytes.write(chunk, 0, Math.min(room, chunk.length));
            return chunk.length <= room;
        }

        byte[] bytes() {
            return bytes.toByteArray();
        }
    }

    /** Writes the chat {@code messages} both chat protocols share: the system prompt if any, then the question. */
    static void putChatMessages(ObjectNode body, InferenceRequest request) {
        var messages = body.putArray("messages");
        if (request.systemPrompt() != null) {
            messages.addObject().put("role", "system").put("content", request.systemPrompt());
        }
        messages.addObject().put("role", "user").put("content", request.prompt());
    }
}
