package dev.pgplay.playbooks;

import dev.pgplay.core.run.Play;
import dev.pgplay.core.run.Playbook;
import dev.pgplay.core.run.PlaybookOption;
import dev.pgplay.inventory.Inventory;
import java.util.List;
import java.util.Map;

/**
 * Major upgrade onto another server (roles.target) by dump and restore, then the clients switched
 * to it by vars.switch (VIP, /etc/hosts alias, DNS hook); the old server stays read-only as the way
 * back. See {@link Move}.
 */
public final class MajorMove implements Playbook {
    @Override
    public String name() {
        return "major-move";
    }

    @Override
    public String description() {
        return "major upgrade onto another server (roles.target, -e new-version=N) by pg_dump/pg_restore, verified, clients switched "
                + "(vip, hosts-alias, dns-hook); the old server kept read-only as the way back";
    }

    @Override
    public List<PlaybookOption> options() {
        return PgOptions.major();
    }

    @Override
    public List<Play> plays(Inventory inventory, Map<String, Object> extra) {
        return new Move(MoveSettings.of(inventory, extra)).plays();
    }
}
