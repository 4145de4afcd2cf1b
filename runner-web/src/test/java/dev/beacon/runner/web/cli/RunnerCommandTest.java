package dev.beacon.runner.web.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The application's main runs the command line only when the first argument names a subcommand; otherwise the server starts. */
class RunnerCommandTest {

    @Test
    void noArgumentsOrOnlySpringArgumentsStartTheServer() {
        assertThat(RunnerCommand.handles()).isFalse();
        assertThat(RunnerCommand.handles("--server.port=0", "--spring.r2dbc.url=r2dbc:h2:mem:///x")).isFalse();
        assertThat(RunnerCommand.handles("--verify")).isFalse();
    }

    @Test
    void aSubcommandNameRunsTheCommandLine() {
        assertThat(RunnerCommand.handles("verify", "bundle.json")).isTrue();
        assertThat(RunnerCommand.handles("help")).isTrue();
        assertThat(RunnerCommand.handles("bundle.json", "verify")).isFalse();
    }
}
