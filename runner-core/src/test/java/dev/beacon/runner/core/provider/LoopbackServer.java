package dev.beacon.runner.core.provider;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;
import org.reactivestreams.Publisher;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;

/** A real HTTP server on 127.0.0.1 that records which connections opened and which the client closed. */
final class LoopbackServer implements AutoCloseable {

    private final Set<String> opened = ConcurrentHashMap.newKeySet();
    private final Set<String> closed = ConcurrentHashMap.newKeySet();
    private final DisposableServer server;

    LoopbackServer(BiFunction<? super HttpServerRequest, ? super HttpServerResponse, ? extends Publisher<Void>> handler) {
        server = HttpServer.create()
                .host("127.0.0.1")
                .port(0)
                .doOnConnection(connection -> {
                    String id = connection.channel().id().asShortText();
                    if (opened.add(id)) {
                        connection.channel().closeFuture().addListener(done -> closed.add(id));
                    }
                })
                .handle(handler)
                .bindNow();
    }

    String baseUrl() {
        return "http://127.0.0.1:" + server.port();
    }

    int port() {
        return server.port();
    }

    int openedConnections() {
        return opened.size();
    }

    int closedConnections() {
        return closed.size();
    }

    @Override
    public void close() {
        server.disposeNow();
    }
}
