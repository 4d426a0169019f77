package dev.pgplay.playbooks;

import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.Playbook;
import dev.pgplay.core.run.PlaybookOption;
import dev.pgplay.inventory.Inventory;
import java.util.List;
import java.util.Map;

/** bluegreen-cleanup: end the replication: the side that takes writes stays, the other stops following; guards, publications and slots dropped. See {@link BlueGreen}. */
public final class BlueGreenCleanup implements Playbook {
    @Override
    public String name() {
        return "bluegreen-cleanup";
    }

    @Override
    public String description() {
        return "end the replication: the side that takes writes stays, the other stops following; guards, publications and slots dropped";
    }

    @Override
    public List<PlaybookOption> options() {
        return BlueGreenSettings.options();
    }

    @Override
    public List<Play> plays(Inventory inventory, Map<String, Object> extra) {
        BlueGreen bg = new BlueGreen(BlueGreenSettings.of(inventory, extra));
        return List.of(bg.statusPlay(), Play.of("end the replication", bg.s.blue().primary()).failFast().task(bg.endTasks(false)), bg.reportPlay());
    }
}
