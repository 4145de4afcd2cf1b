/** Routes, SSE, exports, bearer tokens and RFC 9457 problems (Spring's {@code ProblemDetail}). */
@NullMarked
package dev.beacon.runner.web.http;

import org.jspecify.annotations.NullMarked;
