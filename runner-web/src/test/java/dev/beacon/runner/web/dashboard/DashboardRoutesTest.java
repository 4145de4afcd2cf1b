package dev.beacon.runner.web.dashboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import org.junit.jupiter.api.Test;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.WebTestClient;

class DashboardRoutesTest {

    private final WebTestClient client = WebTestClient.bindToRouterFunction(DashboardRoutes.create("/beacon/")).build();

    @Test
    void basePathWithoutSlashRedirectsRelativelySoAHostContextPathIsKept() {
        client.get().uri("/beacon").exchange()
                .expectStatus().isEqualTo(HttpStatus.PERMANENT_REDIRECT)
                .expectHeader().location("beacon/");
    }

    @Test
    void servesThePageAndItsFilesWithTheirTypes() {
        client.get().uri("/beacon/").exchange()
                .expectStatus().isOk()
                .expectHeader().contentTypeCompatibleWith(MediaType.TEXT_HTML)
                .expectHeader().cacheControl(org.springframework.http.CacheControl.noCache())
                .expectBody(String.class).value(html -> assertThat(html).contains("src=\"app.js\"").doesNotContain("src=\"/"));
        client.get().uri("/beacon/app.js").exchange()
                .expectStatus().isOk()
                .expectHeader().contentTypeCompatibleWith("text/javascript");
        client.get().uri("/beacon/sse.js").exchange()
                .expectStatus().isOk()
                .expectHeader().contentTypeCompatibleWith("text/javascript");
        client.get().uri("/beacon/style.css").exchange()
                .expectStatus().isOk()
                .expectHeader().contentTypeCompatibleWith("text/css");
        client.get().uri("/beacon/example-job.json").exchange()
                .expectStatus().isOk()
                .expectHeader().contentTypeCompatibleWith(MediaType.APPLICATION_JSON)
                .expectBody().jsonPath("$.questions.length()").isEqualTo(8).jsonPath("$.models.length()").isEqualTo(3);
    }

    @Test
    void servesNothingElse() {
        client.get().uri("/beacon/application.yaml").exchange().expectStatus().isNotFound();
        client.get().uri("/app.js").exchange().expectStatus().isNotFound();
    }

    @Test
    void pageUsesOnlyRelativeUrls() {
        for (String file : DashboardRoutes.FILES) {
            String text = client.get().uri("/beacon/" + file).exchange().expectBody(String.class).returnResult().getResponseBody();
            assertThat(text).as(file)
                    .doesNotContainPattern("fetch\\(\\s*['\"`]/")
                    .doesNotContainPattern("EventSource\\(\\s*['\"`]/")
                    .doesNotContainPattern("(href|src)=\"/");
        }
    }

    @Test
    void theEventStreamIsReadWithFetchSoThatTheTokenIsSent() {
        // An EventSource cannot send an Authorization header: with open-reads=false it only gets 401.
        for (String file : DashboardRoutes.FILES) {
            String text = client.get().uri("/beacon/" + file).exchange().expectBody(String.class).returnResult().getResponseBody();
            assertThat(text).as(file).doesNotContain("new EventSource");
        }
        String app = client.get().uri("/beacon/app.js").exchange().expectBody(String.class).returnResult().getResponseBody();
        assertThat(app).contains("from './sse.js'").contains("followEvents(");
    }

    @Test
    void anEmptyBasePathIsLeftToSpringBootsStaticResources() {
        assertThatIllegalArgumentException().isThrownBy(() -> DashboardRoutes.create(""));
        assertThatIllegalArgumentException().isThrownBy(() -> DashboardRoutes.create("/"));
    }
}
