package dev.pgplay.playbooks;

import dev.pgplay.core.run.Play;
import java.util.List;

/** bluegreen-prepare: build green (a cluster of -e new-version on the host of group green) following blue by logical replication; blue keeps serving. See {@link BlueGreen}. */
public final class BlueGreenPrepare extends BlueGreenPlaybook {
    public BlueGreenPrepare() {
        super("bluegreen-prepare", "build green (a cluster of -e new-version on the host of group green) following blue by logical replication; blue keeps serving");
    }

    @Override
    List<Play> plays(BlueGreen bg) {
        return new BlueGreenPrep(bg).plays();
    }
}
