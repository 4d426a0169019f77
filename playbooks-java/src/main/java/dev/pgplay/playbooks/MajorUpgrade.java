package dev.pgplay.playbooks;

import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.Playbook;
import dev.pgplay.inventory.Inventory;
import java.util.List;
import java.util.Map;

/**
 * Major upgrade with pg_upgrade (-e new-version=15, -e method=copy|link|clone, -e jobs=N):
 * pg_upgrade --check first, then the upgrade; the new cluster takes the old one's port, the old
 * one is kept; verified old against new; standbys rebuilt. See {@link Major}.
 */
public final class MajorUpgrade implements Playbook {
    @Override
    public String name() {
        return "major-upgrade";
    }

    @Override
    public List<dev.pgplay.core.run.PlaybookOption> options() {
        return PgOptions.major(
                dev.pgplay.core.run.PlaybookOption.choice("method", "copy", "pg_upgrade's transfer mode", "copy", "link", "clone"),
                dev.pgplay.core.run.PlaybookOption.choice("standby-rebuild", "auto", "how standbys get the new major: auto (with link, rsync "
                        + "--hard-links where it is safe, else pg_basebackup) or pg_basebackup", "auto", "pg_basebackup"));
    }

    @Override
    public String description() {
        return "major upgrade with pg_upgrade (-e new-version=N, -e method=copy|link|clone), verified, standbys rebuilt";
    }

    @Override
    public List<Play> plays(Inventory inventory, Map<String, Object> extra) {
        return new Major(MajorSettings.of(inventory, extra, false)).plays();
    }
}
