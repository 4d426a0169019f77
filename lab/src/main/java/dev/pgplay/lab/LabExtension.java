package dev.pgplay.lab;

import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * JUnit 5 extension giving a test class real lab hosts:
 * <pre>{@code
 * @RegisterExtension static final LabExtension LAB = LabExtension.hosts("db1", "db2");
 * }</pre>
 * Hosts start before the first test (engine and image are prepared if missing) and are removed
 * after the last.
 */
public final class LabExtension implements BeforeAllCallback, AfterAllCallback {
    private final Lab.Builder builder;
    private Lab lab;

    private LabExtension(Lab.Builder builder) {
        this.builder = builder;
    }

    public static LabExtension hosts(String... names) {
        return new LabExtension(Lab.builder().hosts(names));
    }

    /** Hosts as a {@link Lab.Builder} describes them (e.g. with a host behind a jump host). */
    public static LabExtension of(Lab.Builder builder) {
        return new LabExtension(builder);
    }

    public static LabExtension hosts(int count) {
        return new LabExtension(Lab.builder().hosts(count));
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        lab = builder.start();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (lab != null) {
            lab.close();
            lab = null;
        }
    }

    public Lab lab() {
        if (lab == null) {
            throw new IllegalStateException("lab: not started (register the extension as a static field)");
        }
        return lab;
    }

    public LabHost host(String name) {
        return lab().host(name);
    }

    public List<LabHost> hosts() {
        return lab().hosts();
    }
}
