package dev.beacon.runner.web;

import dev.beacon.runner.web.testing.ThreadDump;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpMethod;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.ByteBufFlux;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Sends requests exactly as written (no default content type, chosen framing) with Reactor Netty,
 * for tests of what the server does with hostile input.
 */
final class RawHttp {

    static final JsonMapper JSON = JsonMapper.builder().build();

    private final HttpClient client;

    RawHttp(int port) {
        this(port, Duration.ofSeconds(20));
    }

    /** A client that gives up on a response that has not started within {@code responseTimeout}. */
    RawHttp(int port, Duration responseTimeout) {
        // A connection of its own per request: the JVM-wide pool can hold an idle keep-alive connection to
        // the server of a context that was closed since (its connections outlive it, unanswered), and a
        // new context that gets the same port would have the request sent there.
        this.client = HttpClient.create(ConnectionProvider.newConnection()).baseUrl("http://localhost:" + port).responseTimeout(responseTimeout);
    }

    /** A response as received. */
    record Response(int status, io.netty.handler.codec.http.HttpHeaders headers, String body) {

        JsonNode json() {
            return JSON.readTree(body);
        }

        List<String> errorFields() {
            JsonNode errors = json().path("errors");
            return errors.valueStream().map(e -> e.path("field").asString()).toList();
        }

        String header(String name) {
            return headers.get(name);
        }
    }

    /** Sends {@code body} with a Content-Length; {@code null} sends no body at all. */
    Response send(String method, String path, Map<String, String> headers, byte[] body) {
        HttpClient c = client.headers(h -> {
            headers.forEach(h::set);
            if (body != null) {
                h.set("Content-Length", body.length);
            }
        });
        var request = c.request(HttpMethod.valueOf(method)).uri(path);
        Mono<Response> response = (body == null ? request : request.send(ByteBufFlux.fromInbound(Mono.just(Unpooled.wrappedBuffer(body)))))
                .responseSingle((res, content) -> content.asString(StandardCharsets.UTF_8).defaultIfEmpty("")
                        .map(text -> new Response(res.status().code(), res.responseHeaders(), text)));
        // Name the request in a failure: a bare ReadTimeoutException does not say which call hung;
        // and print every thread, since a server that does not answer is only explained by where it waits.
        return response.onErrorMap(e -> {
                    ThreadDump.print(method + " " + path + " got no complete answer");
                    return new AssertionError(method + " " + path + " got no complete answer: " + e, e);
                })
                .block(Duration.ofSeconds(30));
    }

    /** Sends {@code chunks} with chunked transfer encoding, i.e. without declaring the length. */
    Response sendChunked(String path, Map<String, String> headers, Flux<byte[]> chunks) {
        return client.headers(h -> headers.forEach(h::set))
                .post().uri(path)
                .send(ByteBufFlux.fromInbound(chunks.map(Unpooled::wrappedBuffer)))
                .responseSingle((res, content) -> content.asString(StandardCharsets.UTF_8).defaultIfEmpty("")
                        .map(text -> new Response(res.status().code(), res.responseHeaders(), text)))
                .block(Duration.ofSeconds(30));
    }

    Response get(String path, Map<String, String> headers) {
        return send("GET", path, headers, null);
    }

    Response postJson(String path, String json, Map<String, String> headers) {
        var all = new java.util.LinkedHashMap<>(headers);
        all.putIfAbsent("Content-Type", "application/json");
        return send("POST", path, all, json.getBytes(StandardCharsets.UTF_8));
    }
}
