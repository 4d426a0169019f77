package dev.pgplay.core.modules;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

class ConfigSettingTest {
    @Test
    void replacesTheActiveLineKeepsOthers() {
        String conf = "# comment\nwal_level = minimal   # set by hand\nport = 5432\n";
        assertEquals("# comment\nwal_level = replica\nport = 5432\n", ConfigSetting.apply(conf, "wal_level", "replica"));
    }

    @Test
    void replacesACommentedDefaultInPlaceElseAppends() {
        assertEquals("a = 1\nwal_level = replica\nb = 2\n", ConfigSetting.apply("a = 1\n#wal_level = replica\t# minimal, replica\nb = 2\n", "wal_level", "replica"));
        assertEquals("a = 1\nhot_standby = on\n", ConfigSetting.apply("a = 1\n", "hot_standby", "on"));
    }

    @Test
    void unchangedWhenAlreadySetEvenWithOtherSpacing() {
        String conf = "listen_addresses='*'   # what IP address(es)\n";
        assertSame(conf, ConfigSetting.apply(conf, "listen_addresses", "'*'"));
    }

    @Test
    void hashInsideQuotesIsNotAComment() {
        String conf = "x = 'a#b'\n";
        assertSame(conf, ConfigSetting.apply(conf, "x", "'a#b'"));
        assertEquals("x = 'c'\n", ConfigSetting.apply(conf, "x", "'c'"));
    }

    @Test
    void netmask() {
        assertEquals("255.255.255.0", VirtualIp.netmask(24));
        assertEquals("255.255.255.255", VirtualIp.netmask(32));
        assertEquals("255.255.240.0", VirtualIp.netmask(20));
    }
}
