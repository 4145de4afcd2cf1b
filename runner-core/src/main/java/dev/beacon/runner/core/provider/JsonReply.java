package dev.beacon.runner.core.provider;

import java.util.Map;
import tools.jackson.databind.JsonNode;

/** The JSON object of a 2xx answer, with the response headers the provider's configuration records. */
record JsonReply(JsonNode body, Map<String, String> headers) {
}
