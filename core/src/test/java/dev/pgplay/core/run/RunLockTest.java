package dev.pgplay.core.run;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** When a lock's holder is provably dead: it ran on this controller and its process (pid + start time) is gone. */
class RunLockTest {
    static String info(String controller, String process) {
        return "owner=root@x pid 1\nplaybook=rolling-minor\nrun=r1\nstarted=2026-01-01T00:00:00Z\ncontroller=" + controller + "\nprocess=" + process + "\n";
    }

    @Test
    void aFinishedProcessOnThisControllerIsDead() throws Exception {
        Process p = new ProcessBuilder("true").start();
        String recorded = RunLock.process(p.toHandle());
        p.waitFor();
        Thread.sleep(50);
        assertTrue(RunLock.holderDead(info(RunLock.controller(), recorded), RunLock.controller()));
    }

    @Test
    void aLiveProcessIsNot_norOneOnAnotherController_norAReusedPid() {
        String me = RunLock.process(ProcessHandle.current());
        assertFalse(RunLock.holderDead(info(RunLock.controller(), me), RunLock.controller()), "this process is alive");
        assertFalse(RunLock.holderDead(info("elsewhere", "999999999@2020-01-01T00:00:00Z"), RunLock.controller()), "another controller: cannot tell");
        String reused = ProcessHandle.current().pid() + "@2001-01-01T00:00:00Z";
        assertTrue(RunLock.holderDead(info(RunLock.controller(), reused), RunLock.controller()), "same pid, other start time: the holder is gone");
        assertFalse(RunLock.holderDead("owner=old format without process\n", RunLock.controller()), "an older lock: cannot tell");
    }
}
