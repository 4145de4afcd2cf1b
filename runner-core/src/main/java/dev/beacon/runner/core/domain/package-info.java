/** Value records: ids, cells, execution results, statuses and their allowed transitions, receipts, seals. */
@NullMarked
package dev.beacon.runner.core.domain;

import org.jspecify.annotations.NullMarked;
