package dev.beacon.runner.web.http;

import dev.beacon.runner.core.domain.ExecutionResult;
import dev.beacon.runner.core.domain.JobId;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferFactory;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.server.ServerRequest;
import reactor.core.publisher.Flux;
import tools.jackson.databind.ObjectWriter;
import tools.jackson.dataformat.csv.CsvMapper;
import tools.jackson.dataformat.csv.CsvSchema;

/**
 * The three forms of {@code GET /jobs/{id}/executions} (README, API): a JSON array, NDJSON (one
 * execution view per line) and RFC 4180 CSV with a header row (Jackson's CSV writer quotes; CRLF
 * line ends). Each is written row by row as the store emits them, so an export is never held whole
 * in memory and a client that goes away cancels the reading.
 */
final class ExecutionExports {

    static final MediaType NDJSON = MediaType.parseMediaType("application/x-ndjson");
    static final MediaType CSV = MediaType.parseMediaType("text/csv;charset=UTF-8");

    /** The CSV columns of README, API: "Execution view", in order. */
    static final List<String> CSV_COLUMNS = List.of("job_id", "question_id", "model_id", "region", "sample", "provider_id",
            "status", "attempts", "started_at", "completed_at", "latency_ms", "finish_reason", "prompt_tokens",
            "completion_tokens", "error_code", "error_message", "served_model", "text", "request_sha256",
            "output_sha256", "runner_key_id", "signature");

    enum Format {
        JSON(MediaType.APPLICATION_JSON, "json"), NDJSON(ExecutionExports.NDJSON, "jsonl"), CSV(ExecutionExports.CSV, "csv");

        final MediaType mediaType;
        final String extension;

        Format(MediaType mediaType, String extension) {
            this.mediaType = mediaType;
            this.extension = extension;
        }
    }

    private static final byte[] NEWLINE = {'\n'};

    private final JobViews views;
    private final ObjectWriter csvRow;
    private final byte[] csvHeader;

    ExecutionExports(JobViews views) {
        this.views = views;
        CsvSchema.Builder columns = CsvSchema.builder();
        CSV_COLUMNS.forEach(columns::addColumn);
        CsvSchema schema = columns.build().withLineSeparator("\r\n");
        CsvMapper mapper = CsvMapper.shared();
        this.csvRow = mapper.writer(schema.withoutHeader());
        this.csvHeader = (String.join(",", CSV_COLUMNS) + "\r\n").getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The format asked for: {@code ?format=json|ndjson|csv} wins; otherwise the first of JSON,
     * NDJSON, CSV that {@code Accept} admits (JSON when it admits anything). Throws a 400 problem for
     * an unknown {@code format} and a 406 one when {@code Accept} admits none of the three.
     */
    static Format negotiate(ServerRequest request) {
        String asked = request.queryParam("format").orElse(null);
        if (asked != null) {
            return switch (asked.toLowerCase(Locale.ROOT)) {
                case "json" -> Format.JSON;
                case "ndjson", "jsonl" -> Format.NDJSON;
                case "csv" -> Format.CSV;
                default -> throw ApiProblem.of(HttpStatus.BAD_REQUEST, "bad-format", "unknown export format",
                        new dev.beacon.runner.core.spec.FieldError("format", "must be json, ndjson or csv, but was '"
                                + ApiRequests.abbreviate(asked) + "'"));
            };
        }
        List<MediaType> accepted;
        try {
            accepted = request.headers().accept();
        } catch (RuntimeException e) {
            return Format.JSON; // an unreadable Accept header is treated as absent
        }
        if (accepted.isEmpty()) {
            return Format.JSON;
        }
        accepted = new ArrayList<>(accepted);
        accepted.sort(Comparator.comparingDouble(MediaType::getQualityValue).reversed());
        for (MediaType a : accepted) {
            for (Format f : Format.values()) {
                if (a.isCompatibleWith(f.mediaType) && !a.isWildcardType()) {
                    return f;
                }
            }
        }
        if (accepted.stream().anyMatch(MediaType::isWildcardType)) {
            return Format.JSON;
        }
        throw ApiProblem.of(HttpStatus.NOT_ACCEPTABLE, "not-acceptable",
                "executions are served as application/json, application/x-ndjson or text/csv");
    }

    /** Rows written per buffer: one flush per few hundred rows instead of one per row. */
    static final int ROWS_PER_BUFFER = 256;

    /** {@code rows} in {@code format}: the array's or the header's framing, then the rows, {@value #ROWS_PER_BUFFER} to a buffer. */
    Flux<DataBuffer> write(Format format, JobId jobId, Flux<ExecutionResult> rows, DataBufferFactory buffers) {
        Flux<byte[]> encoded = switch (format) {
            case JSON -> rows.index().map(t -> {
                byte[] row = views.bytes(views.execution(t.getT2()));
                return t.getT1() == 0 ? row : concat(new byte[] {','}, row);
            });
            case NDJSON -> rows.map(r -> concat(views.bytes(views.execution(r)), NEWLINE));
            case CSV -> rows.map(r -> csvRow.writeValueAsBytes(csvRecord(jobId, r)));
        };
        byte[] head = switch (format) {
            case JSON -> new byte[] {'['};
            case NDJSON -> new byte[0];
            case CSV -> csvHeader;
        };
        byte[] tail = format == Format.JSON ? new byte[] {']'} : new byte[0];
        return Flux.concat(Flux.just(head), encoded.buffer(ROWS_PER_BUFFER).map(ExecutionExports::join), Flux.just(tail))
                .filter(bytes -> bytes.length > 0)
                .map(buffers::wrap);
    }

    private static byte[] join(List<byte[]> parts) {
        int length = 0;
        for (byte[] part : parts) {
            length += part.length;
        }
        byte[] all = new byte[length];
        int at = 0;
        for (byte[] part : parts) {
            System.arraycopy(part, 0, all, at, part.length);
            at += part.length;
        }
        return all;
    }

    /** One CSV row: the columns of {@link #CSV_COLUMNS}; absent values are empty fields. */
    static Map<String, Object> csvRecord(JobId jobId, ExecutionResult r) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("job_id", jobId.toString());
        row.put("question_id", r.cell().questionId());
        row.put("model_id", r.cell().endpoint().model());
        row.put("region", r.cell().endpoint().region());
        row.put("sample", r.cell().sample());
        row.put("provider_id", r.providerId());
        row.put("status", r.status().name());
        row.put("attempts", r.attempts());
        row.put("started_at", r.startedAt() == null ? null : r.startedAt().toString());
        row.put("completed_at", r.completedAt().toString());
        row.put("latency_ms", r.latencyMs());
        row.put("finish_reason", r.output() == null ? null : r.output().finishReason());
        row.put("prompt_tokens", r.output() == null ? null : r.output().usage().promptTokens());
        row.put("completion_tokens", r.output() == null ? null : r.output().usage().completionTokens());
        row.put("error_code", r.error() == null ? null : r.error().code());
        row.put("error_message", r.error() == null ? null : r.error().message());
        row.put("served_model", r.output() == null ? null : r.output().provenance().servedModel());
        row.put("text", r.output() == null ? null : r.output().text());
        row.put("request_sha256", r.receipt() == null ? null : r.receipt().requestSha256());
        row.put("output_sha256", r.receipt() == null ? null : r.receipt().outputSha256());
        row.put("runner_key_id", r.receipt() == null ? null : r.receipt().runnerKeyId());
        row.put("signature", r.receipt() == null ? null : r.receipt().signature());
        return row;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] all = new byte[a.length + b.length];
        System.arraycopy(a, 0, all, 0, a.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
