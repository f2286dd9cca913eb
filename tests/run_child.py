"""`localnet run` in a real child process, with one test instrument: the child prints
"step N" (flushed) as training step N starts, so a test can act at a known step.

KILL_TEST_WAIT: the child also waits at step 0 for a line on its stdin ("go") before it
trains (so many children can start, and pay for their imports, at once); KILL_TEST_DELAY:
seconds it pauses at each step (so a test's SIGKILL lands at the step it saw);
KILL_TEST_PAUSE_IN_SAVE=N: once step N has run, the next checkpoint write stops (for a
minute) after its temporary file is written and synced, before the rename, and the child
prints "saving": a SIGKILL then lands in the middle of writing a checkpoint.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent("""
    import os, sys, time
    import localnet.network as network

    import localnet.writes as writes

    delay = float(os.environ.get("KILL_TEST_DELAY", "0"))
    wait = bool(os.environ.get("KILL_TEST_WAIT"))
    pause_in_save = int(os.environ.get("KILL_TEST_PAUSE_IN_SAVE", "-1"))
    original = network.Network.step
    last = [-1]

    class PausingOs:  # writes.py's `os` (write_atomic, a checkpoint's writer): fsync, then stop before the rename
        def __getattr__(self, name):
            return getattr(os, name)

        def fsync(self, fd):
            os.fsync(fd)
            if 0 <= pause_in_save <= last[0]:
                print("saving", flush=True)
                time.sleep(60)

    writes.os = PausingOs()

    def step(self, number, *args, **kwargs):
        last[0] = number
        print(f"step {number}", flush=True)
        if number == 0 and wait:
            sys.stdin.readline()  # the test's go
        if delay:
            time.sleep(delay)
        return original(self, number, *args, **kwargs)

    network.Network.step = step
    from localnet.cli import main
    main(prog_name="localnet")
""")


def start_child(folder: Path, *args: object, delay: float = 0.0, wait: bool = False,
                pause_in_save: int | None = None) -> subprocess.Popen:
    """Start `localnet ARGS...` (e.g. "run", config, "--out", dir) instrumented as above;
    text pipes for stdin, stdout and stderr. `folder` holds the child script."""
    script = Path(folder) / "localnet_child.py"
    if not script.exists():
        script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": str(REPO), "KILL_TEST_DELAY": str(delay)}
    if wait:
        env["KILL_TEST_WAIT"] = "1"
    if pause_in_save is not None:
        env["KILL_TEST_PAUSE_IN_SAVE"] = str(pause_in_save)
    return subprocess.Popen([sys.executable, str(script), *map(str, args)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)


def read_until_step(child: subprocess.Popen, target: int, go: bool = True, saving: bool = False) -> int:
    """Read the child's stdout until it reports step >= `target` (sending "go" at step 0
    when `go`), or with `saving` until it prints "saving"; returns the last step seen.
    AssertionError if it ends first."""
    seen = -1
    while saving or seen < target:
        line = child.stdout.readline()
        if not line:
            raise AssertionError(f"the child ended before step {target}: {child.stderr.read()}")
        if saving and line.strip() == "saving":
            return seen
        if line.startswith("step "):
            seen = int(line.split()[1])
            if seen == 0 and go:
                child.stdin.write("go\n")
                child.stdin.flush()
    return seen


def close(child: subprocess.Popen) -> None:
    """Kill the child if it still runs, reap it and close its pipes."""
    if child.poll() is None:
        child.kill()
        child.wait()
    for stream in (child.stdin, child.stdout, child.stderr):
        if stream is not None:
            stream.close()
