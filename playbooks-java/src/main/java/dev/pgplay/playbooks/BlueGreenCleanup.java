package dev.pgplay.playbooks;

import dev.pgplay.core.run.Play;
import java.util.List;

/** bluegreen-cleanup: end the replication: the side that takes writes stays, the other stops following; guards, publications and slots dropped. See {@link BlueGreen}. */
public final class BlueGreenCleanup extends BlueGreenPlaybook {
    public BlueGreenCleanup() {
        super("bluegreen-cleanup", "end the replication: the side that takes writes stays, the other stops following; guards, publications and slots dropped");
    }

    @Override
    List<Play> plays(BlueGreen bg) {
        return List.of(bg.statusPlay(), Play.of("end the replication", bg.s.blue().primary()).failFast().task(bg.endTasks(false)), bg.reportPlay());
    }
}
