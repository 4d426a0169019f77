package dev.pgplay.playbooks;

import dev.pgplay.core.run.Play;
import java.util.List;

/** bluegreen-switch: move writes from blue to green: writes blocked for seconds, proven caught up by LSN, blue follows green before green opens. See {@link BlueGreen}. */
public final class BlueGreenSwitch extends BlueGreenPlaybook {
    public BlueGreenSwitch() {
        super("bluegreen-switch", "move writes from blue to green: writes blocked for seconds, proven caught up by LSN, blue follows green before green opens");
    }

    @Override
    List<Play> plays(BlueGreen bg) {
        return bg.switchPlays(BlueGreenSettings.Side.GREEN);
    }
}
