package dev.pgplay.playbooks;

import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.Playbook;
import dev.pgplay.core.run.PlaybookOption;
import dev.pgplay.inventory.Inventory;
import java.util.List;
import java.util.Map;

/** bluegreen-rollback: back to blue: after the switch, the switch in reverse (no commit lost); before it, green's replication dropped. See {@link BlueGreen}. */
public final class BlueGreenRollback implements Playbook {
    @Override
    public String name() {
        return "bluegreen-rollback";
    }

    @Override
    public String description() {
        return "back to blue: after the switch, the switch in reverse (no commit lost); before it, green's replication dropped";
    }

    @Override
    public List<PlaybookOption> options() {
        return BlueGreenSettings.options();
    }

    @Override
    public List<Play> plays(Inventory inventory, Map<String, Object> extra) {
        BlueGreen bg = new BlueGreen(BlueGreenSettings.of(inventory, extra));
        return bg.rollbackPlays();
    }
}
