package dev.pgplay.playbooks;

import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.Playbook;
import dev.pgplay.core.run.PlaybookOption;
import dev.pgplay.inventory.Inventory;
import java.util.List;
import java.util.Map;

/** bluegreen-switch: move writes from blue to green: writes blocked for seconds, proven caught up by LSN, blue follows green before green opens. See {@link BlueGreen}. */
public final class BlueGreenSwitch implements Playbook {
    @Override
    public String name() {
        return "bluegreen-switch";
    }

    @Override
    public String description() {
        return "move writes from blue to green: writes blocked for seconds, proven caught up by LSN, blue follows green before green opens";
    }

    @Override
    public List<PlaybookOption> options() {
        return BlueGreenSettings.options();
    }

    @Override
    public List<Play> plays(Inventory inventory, Map<String, Object> extra) {
        return new BlueGreen(BlueGreenSettings.of(inventory, extra)).switchPlays(BlueGreenSettings.Side.GREEN);
    }
}
