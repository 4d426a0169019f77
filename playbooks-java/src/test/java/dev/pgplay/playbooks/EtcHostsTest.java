package dev.pgplay.playbooks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class EtcHostsTest {
    static final String HOSTS = """
            127.0.0.1\tlocalhost
            # the database, by hand: 10.0.0.1 db.lab
            10.0.0.1 db.lab
            10.0.0.7 app1 DB.LAB reports
            """;

    @Test
    void theNameLeadsToOneAddressAndTheRestStays() {
        EtcHosts r = EtcHosts.pointing(HOSTS, "db.lab", "10.0.0.2");
        assertTrue(r.changed());
        assertEquals("""
                127.0.0.1\tlocalhost
                # the database, by hand: 10.0.0.1 db.lab
                10.0.0.7 app1 reports
                10.0.0.2 db.lab # pgplay hosts-alias
                """, r.text());
        assertEquals("10.0.0.2", EtcHosts.address(r.text(), "db.lab"));
        assertEquals("10.0.0.1", EtcHosts.address(HOSTS, "db.lab"));
    }

    @Test
    void pointingAgainChangesNothingAndPointingBackMovesThePgplayLine() {
        String once = EtcHosts.pointing(HOSTS, "db.lab", "10.0.0.2").text();
        assertFalse(EtcHosts.pointing(once, "db.lab", "10.0.0.2").changed());
        String back = EtcHosts.pointing(once, "db.lab", "10.0.0.1").text();
        assertEquals("10.0.0.1", EtcHosts.address(back, "db.lab"));
        assertEquals(1, back.lines().filter(l -> l.contains(EtcHosts.MARK)).count());
    }
}
