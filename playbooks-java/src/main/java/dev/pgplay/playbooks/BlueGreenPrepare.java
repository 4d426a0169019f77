package dev.pgplay.playbooks;

import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.Playbook;
import dev.pgplay.core.run.PlaybookOption;
import dev.pgplay.inventory.Inventory;
import java.util.List;
import java.util.Map;

/** bluegreen-prepare: build green (a cluster of -e new-version on the host of group green) following blue by logical replication; blue keeps serving. See {@link BlueGreen}. */
public final class BlueGreenPrepare implements Playbook {
    @Override
    public String name() {
        return "bluegreen-prepare";
    }

    @Override
    public String description() {
        return "build green (a cluster of -e new-version on the host of group green) following blue by logical replication; blue keeps serving";
    }

    @Override
    public List<PlaybookOption> options() {
        return BlueGreenSettings.options();
    }

    @Override
    public List<Play> plays(Inventory inventory, Map<String, Object> extra) {
        BlueGreen bg = new BlueGreen(BlueGreenSettings.of(inventory, extra));
        return new BlueGreenPrep(bg).plays();
    }
}
