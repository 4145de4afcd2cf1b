package dev.beacon.runner.core.provider;

import java.net.URI;
import java.util.Objects;

/** Builds and compares the URIs the HTTP clients call. */
final class ProviderUris {

    private ProviderUris() {
    }

    /** Appends {@code path} to a base URL that may or may not end with a slash or carry a path. */
    static URI append(URI base, String path) {
        String text = base.toString();
        while (text.endsWith("/")) {
            text = text.substring(0, text.length() - 1);
        }
        return URI.create(text + path);
    }

    /** True if both URIs have the same scheme, host and port, so a bearer token may follow a redirect. */
    static boolean sameOrigin(URI a, URI b) {
        return a.getScheme() != null && a.getScheme().equalsIgnoreCase(b.getScheme())
                && a.getHost() != null && a.getHost().equalsIgnoreCase(b.getHost())
                && port(a) == port(b);
    }

    private static int port(URI uri) {
        if (uri.getPort() != -1) {
            return uri.getPort();
        }
        return Objects.equals("https", uri.getScheme()) ? 443 : 80;
    }
}
