package dev.beacon.runner.core.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** runner-core stays usable from plain Java: no Spring, no R2DBC, no servlet or web framework. */
class CoreDependencyRulesTest {

    private final JavaClasses core = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.beacon.runner.core");

    @Test
    void coreDependsOnNeitherSpringNorR2dbc() {
        noClasses().should().dependOnClassesThat().resideInAnyPackage("org.springframework..", "io.r2dbc..", "jakarta.servlet..")
                .because("runner-core must run without Spring or a database driver (README, \"Modules\")")
                .check(core);
    }

    @Test
    void coreDoesNotReachIntoOtherModules() {
        noClasses().should().dependOnClassesThat().resideInAnyPackage("dev.beacon.runner.persistence..", "dev.beacon.runner.web..")
                .check(core);
    }
}
