/** The protocol clients (OpenAI-compatible, Ollama, Modal, simulated) over one Reactor Netty transport. */
@NullMarked
package dev.beacon.runner.core.provider;

import org.jspecify.annotations.NullMarked;
