package dev.pgplay.playbooks;

import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.Playbook;
import dev.pgplay.inventory.Inventory;
import java.util.List;
import java.util.Map;

/**
 * Major upgrade by dump and restore into a new cluster running beside the old one
 * (-e new-version=15; -e parallel=auto|true|false: one pg_dumpall | psql stream on up to 2 cores, else per database). See {@link Major}.
 */
public final class MajorDump implements Playbook {
    @Override
    public String name() {
        return "major-dump";
    }

    @Override
    public List<dev.pgplay.core.run.PlaybookOption> options() {
        return PgOptions.major(
                dev.pgplay.core.run.PlaybookOption.choice("parallel", "auto", "auto: " + MajorSettings.AUTO + " (measured faster on 2 cores); "
                        + "true: pg_dump -Fd -j / pg_restore -j per database; false: one pg_dumpall | psql stream", "auto", "true", "false"));
    }

    @Override
    public String description() {
        return "major upgrade by pg_dump/pg_restore into a new cluster beside the old one (-e new-version=N), verified, standbys rebuilt";
    }

    @Override
    public List<Play> plays(Inventory inventory, Map<String, Object> extra) {
        return new Major(MajorSettings.of(inventory, extra, true)).plays();
    }
}
