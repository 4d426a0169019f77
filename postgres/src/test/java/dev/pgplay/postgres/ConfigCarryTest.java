package dev.pgplay.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ConfigCarryTest {
    static final Set<String> KNOWN = Set.of("data_directory", "port", "cluster_name", "shared_buffers", "log_line_prefix", "hba_file", "work_mem");

    @Test
    void ownedSettingsTakeTheNewValuesAndRemovedParametersAreReported() {
        String old = """
                # comment
                data_directory = '/var/lib/postgresql/13/main'\t\t# use data in another directory
                hba_file = '/etc/postgresql/13/main/pg_hba.conf'
                port = 5432
                shared_buffers = 128MB
                stats_temp_directory = '/var/run/postgresql/13-main.pg_stat_tmp'
                log_line_prefix = '%m [%p] %q%u@%d '
                include_dir 'conf.d'
                pg_stat_statements.max = 1000
                default_transaction_read_only = 'on'
                """;
        Map<String, String> owned = new LinkedHashMap<>();
        owned.put("data_directory", "/var/lib/postgresql/15/main");
        owned.put("port", "5433");
        owned.put("cluster_name", "15/main");
        ConfigCarry.Result r = ConfigCarry.carry(old, KNOWN, owned, Set.of("default_transaction_read_only"), "13", "15");
        assertEquals(List.of("stats_temp_directory = '/var/run/postgresql/13-main.pg_stat_tmp'"), r.removed());
        assertTrue(r.text().contains("data_directory = '/var/lib/postgresql/15/main'\t# set by pgplay for 15"), r.text());
        assertTrue(r.text().contains("hba_file = '/etc/postgresql/15/main/pg_hba.conf'"), r.text());
        assertTrue(r.text().contains("\nport = 5433\t# set by pgplay"), r.text());
        assertTrue(r.text().contains("\ncluster_name = '15/main'"), "an owned setting the old file lacks is appended: " + r.text());
        assertTrue(r.text().contains("\nshared_buffers = 128MB\n"), r.text());
        assertTrue(r.text().contains("\ninclude_dir 'conf.d'\n"), r.text());
        assertTrue(r.text().contains("\npg_stat_statements.max = 1000\n"), "custom (dotted) parameters are kept: " + r.text());
        assertTrue(r.text().contains("#default_transaction_read_only = 'on'\t# pgplay: not carried over"), r.text());
        assertTrue(r.text().contains("#stats_temp_directory"), r.text());
    }

    @Test
    void aSettingWrittenTwiceKeepsOnlyTheOwnedValue() {
        ConfigCarry.Result r = ConfigCarry.carry("port = 5432\nport=5433\n", KNOWN, Map.of("port", "5432"), Set.of(), "13", "15");
        assertEquals("port = 5432\t# set by pgplay for 15\n#port=5433\t# pgplay: set above\n", r.text());
    }

    @Test
    void anIncludeFileOnlyRewritesTheOwnedSettingsItHas() {
        ConfigCarry.Result r = ConfigCarry.carry("wal_level = replica\nport = 5432\n", Set.of("wal_level", "port"),
                Map.of("port", "5433", "cluster_name", "15/main"), Set.of(), "13", "15", false);
        assertEquals("wal_level = replica\nport = 5433\t# set by pgplay for 15\n", r.text());
    }

    @Test
    void describeConfigNamesAreRead() {
        assertEquals(Set.of("work_mem", "port"), ConfigCarry.parameterNames("work_mem\tuser\tResource\n\nPort\tpostmaster\tx\n"));
    }
}
