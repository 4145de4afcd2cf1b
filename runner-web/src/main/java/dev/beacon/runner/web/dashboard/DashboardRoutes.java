package dev.beacon.runner.web.dashboard;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.springframework.core.io.ClassPathResource;
import org.springframework.http.CacheControl;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;
import reactor.core.publisher.Mono;

/**
 * Serves the dashboard (the static page in {@code classpath:/static/}) next to the API under the
 * runner's base path: {@code {base}/} is the page, {@code {base}/app.js} etc. its files, and
 * {@code {base}} redirects to {@code {base}/} so that the page's relative URLs ({@code jobs},
 * {@code jobs/{id}/events}) reach the API. At an empty base path Spring Boot's own static resource
 * handling already serves the page at {@code /}.
 *
 * <p>The few small files are read once, when the routes are built, so no request reads the class
 * path on an event loop.
 */
public final class DashboardRoutes {

    /** The dashboard's files, relative to {@code classpath:/static/}. */
    static final List<String> FILES = List.of("index.html", "app.js", "sse.js", "diff.js", "json-locate.js", "style.css", "example-job.json");

    private static final Map<String, MediaType> TYPES = Map.of(
            "html", MediaType.TEXT_HTML,
            "js", MediaType.parseMediaType("text/javascript;charset=UTF-8"),
            "css", MediaType.parseMediaType("text/css;charset=UTF-8"),
            "json", MediaType.APPLICATION_JSON);

    private DashboardRoutes() {
    }

    /**
     * The dashboard's routes under {@code basePath} (e.g. {@code /beacon}).
     *
     * @throws IllegalArgumentException if {@code basePath} is empty or {@code /}: nothing to add there
     * @throws UncheckedIOException     if a dashboard file is missing from the class path
     */
    public static RouterFunction<ServerResponse> create(String basePath) {
        String base = normalise(basePath);
        if (base.isEmpty()) {
            throw new IllegalArgumentException("basePath must not be empty, but was '" + basePath + "'");
        }
        Map<String, byte[]> files = new LinkedHashMap<>();
        for (String file : FILES) {
            files.put(file, read(file));
        }
        // Relative, so that it also holds behind a host's own context path (spring.webflux.base-path).
        URI withSlash = URI.create(base.substring(base.lastIndexOf('/') + 1) + "/");
        RouterFunctions.Builder routes = RouterFunctions.route()
                .GET(base, request -> ServerResponse.permanentRedirect(withSlash).build())
                .GET(base + "/", request -> serve("index.html", Objects.requireNonNull(files.get("index.html"), "index.html")));
        files.forEach((file, bytes) -> routes.GET(base + "/" + file, request -> serve(file, bytes)));
        return routes.build();
    }

    private static Mono<ServerResponse> serve(String file, byte[] bytes) {
        return ServerResponse.ok()
                // TYPES has the extension of every one of FILES.
                .contentType(Objects.requireNonNull(TYPES.get(file.substring(file.lastIndexOf('.') + 1)), file))
                .cacheControl(CacheControl.noCache())
                .bodyValue(bytes);
    }

    private static byte[] read(String file) {
        ClassPathResource resource = new ClassPathResource("static/" + file, DashboardRoutes.class.getClassLoader());
        try (InputStream in = resource.getInputStream()) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("dashboard file missing from the class path: static/" + file, e);
        }
    }

    private static String normalise(String path) {
        String p = path == null ? "" : path.strip();
        while (p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        return p.isEmpty() || p.startsWith("/") ? p : "/" + p;
    }
}
