package dev.pgplay.core.run;

import dev.pgplay.inventory.Host;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Fans events out to the run's listeners one at a time; a listener that throws is logged, not fatal. */
final class Listeners implements RunListener {
    private static final Logger LOG = LoggerFactory.getLogger(Listeners.class);
    private final List<RunListener> all;

    Listeners(List<RunListener> all) {
        this.all = List.copyOf(all);
    }

    private synchronized void each(java.util.function.Consumer<RunListener> event) {
        for (RunListener l : all) {
            try {
                event.accept(l);
            } catch (RuntimeException e) {
                LOG.warn("listener {} failed: {}", l.getClass().getName(), e.toString());
            }
        }
    }

    @Override
    public void runStarted(String playbook, boolean checkMode) {
        each(l -> l.runStarted(playbook, checkMode));
    }

    @Override
    public void playStarted(Play play, List<Host> hosts) {
        each(l -> l.playStarted(play, hosts));
    }

    @Override
    public void taskStarted(Play play, Task task, boolean handler) {
        each(l -> l.taskStarted(play, task, handler));
    }

    @Override
    public void hostResult(Host host, Task task, TaskResult result) {
        each(l -> l.hostResult(host, task, result));
    }

    @Override
    public void progress(Host host, Task task, String line) {
        each(l -> l.progress(host, task, line));
    }

    @Override
    public void runFinished(RunResult result) {
        each(l -> l.runFinished(result));
    }
}
