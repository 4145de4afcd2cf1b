package dev.beacon.runner.core.analysis;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The labelled refusal set {@code analysis/refusal-labelled.jsonl}: 287 answers written for these tests,
 * one JSON object a line with {@code id}, {@code label} ({@code refusal} or {@code answer}),
 * {@code category}, {@code style}, {@code split} and {@code text}. Splits, in the order they were
 * written: {@code tune}, {@code holdout} and {@code fresh} (the development data the rules were fitted
 * on), {@code final} (written before the last revision and measured once; see {@link RefusalClassifierTest}).
 */
record LabelledAnswers(List<Item> items) {

    static final String RESOURCE = "/analysis/refusal-labelled.jsonl";

    record Item(String id, boolean refusal, String category, String style, String split, String text) {
    }

    static LabelledAnswers load() {
        JsonMapper mapper = JsonMapper.builder().build();
        List<Item> items = new ArrayList<>();
        try (InputStream in = LabelledAnswers.class.getResourceAsStream(RESOURCE);
             BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                if (line.isBlank()) {
                    continue;
                }
                JsonNode n = mapper.readTree(line);
                items.add(new Item(n.path("id").asString(), n.path("label").asString().equals("refusal"), n.path("category").asString(),
                        n.path("style").asString(), n.path("split").asString(), n.path("text").asString()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new LabelledAnswers(List.copyOf(items));
    }

    List<Item> split(String name) {
        return items.stream().filter(i -> i.split().equals(name)).toList();
    }
}
