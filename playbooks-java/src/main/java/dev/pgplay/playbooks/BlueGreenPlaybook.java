package dev.pgplay.playbooks;

import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.Playbook;
import dev.pgplay.core.run.PlaybookOption;
import dev.pgplay.inventory.Inventory;
import java.util.List;
import java.util.Map;

/** What the four blue-green playbooks share: their options, and the settings read before any host is contacted. */
abstract class BlueGreenPlaybook implements Playbook {
    private final String name;
    private final String description;

    BlueGreenPlaybook(String name, String description) {
        this.name = name;
        this.description = description;
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final String description() {
        return description;
    }

    @Override
    public final List<PlaybookOption> options() {
        return BlueGreenSettings.options();
    }

    @Override
    public final List<Play> plays(Inventory inventory, Map<String, Object> extra) {
        return plays(new BlueGreen(BlueGreenSettings.of(inventory, extra)));
    }

    abstract List<Play> plays(BlueGreen bg);
}
