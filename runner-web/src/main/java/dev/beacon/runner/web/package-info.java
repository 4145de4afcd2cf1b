/** The runnable application ({@link BeaconRunnerApplication}): the server's {@code main} and the jar's command line. */
@NullMarked
package dev.beacon.runner.web;

import org.jspecify.annotations.NullMarked;
