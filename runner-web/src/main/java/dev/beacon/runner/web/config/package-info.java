/** {@code beacon.runner.*} as validated records, mapped to core types in one place. */
@NullMarked
package dev.beacon.runner.web.config;

import org.jspecify.annotations.NullMarked;
