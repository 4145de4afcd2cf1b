package dev.beacon.runner.core.provider;

import dev.beacon.runner.core.domain.EndpointId;
import dev.beacon.runner.core.endpoint.ProviderConfig;

/** Creates the client that reaches one provider of one endpoint; a host may supply its own. */
@FunctionalInterface
public interface InferenceClientFactory {

    InferenceClient create(EndpointId endpoint, ProviderConfig provider);
}
