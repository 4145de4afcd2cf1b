/** The jar's command line ({@code run}, {@code verify}; picocli), beside the server's {@code main}. */
@NullMarked
package dev.beacon.runner.web.cli;

import org.jspecify.annotations.NullMarked;
