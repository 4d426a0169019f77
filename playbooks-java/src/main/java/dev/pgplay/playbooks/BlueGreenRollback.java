package dev.pgplay.playbooks;

import dev.pgplay.core.run.Play;
import java.util.List;

/** bluegreen-rollback: back to blue: after the switch, the switch in reverse (no commit lost); before it, green's replication dropped. See {@link BlueGreen}. */
public final class BlueGreenRollback extends BlueGreenPlaybook {
    public BlueGreenRollback() {
        super("bluegreen-rollback", "back to blue: after the switch, the switch in reverse (no commit lost); before it, green's replication dropped");
    }

    @Override
    List<Play> plays(BlueGreen bg) {
        return bg.rollbackPlays();
    }
}
