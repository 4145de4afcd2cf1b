package dev.beacon.runner.web.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The runner's command line, {@code java -jar beacon-runner.jar <subcommand> …}: dispatches to the
 * subcommands listed in {@link Command#subcommands()} here, one class each (adding one is that class
 * and its entry in the list). Nothing here starts Spring: a subcommand that needs the application
 * starts it itself.
 */
@Command(name = "beacon-runner",
        description = "Without a subcommand (or with only --name=value Spring Boot arguments) the jar starts the server.",
        subcommands = {RunCommand.class, VerifyCommand.class, CommandLine.HelpCommand.class})
public final class RunnerCommand implements Runnable {

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Spec
    CommandSpec spec;

    /** Whether {@code args} name a subcommand, so that the command line rather than the server should run. */
    public static boolean handles(String... args) {
        return args.length > 0 && commandLine().getSubcommands().containsKey(args[0]);
    }

    /**
     * Runs the subcommand {@code args} name, printing to this process's stdout and stderr.
     *
     * @return the process exit code: the subcommand's, or 2 for arguments it cannot use
     */
    public static int execute(String... args) {
        return commandLine().execute(args);
    }

    private static CommandLine commandLine() {
        return new CommandLine(new RunnerCommand());
    }

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "name a subcommand: " + String.join(", ", spec.subcommands().keySet()));
    }
}
