"""Times new processes in interleaved rounds (stdlib only; bench/cold/cold.py uses it).

Every round runs each command once, in an order rotated from round to round, so a machine
whose speed drifts (this VM's floors move by up to 2x within minutes) slows every command of a
round alike. A command's cost over its floor is the median, over the rounds, of its time minus
the floor's time in the same round: drift between rounds moves it far less than it moves the
difference of medians of commands timed one after another (hyperfine's way).

Also an A/B tool: `python3 bench/cold/interleave.py ROUNDS FLOOR_CMD CMD...` (see `main`).
"""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def run_once(argv: list[str], env: dict[str, str], cwd: Path | None) -> tuple[float, float]:
    """One run: wall time from spawn to reaped, and the child's user + system CPU (ms)."""
    start = time.perf_counter_ns()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter_ns() - start) / 1e6
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:3]}... exited with {proc.returncode} during the timed runs")
    return wall, 1000 * (usage.ru_utime + usage.ru_stime)


def interleaved(
    cmds: list[tuple[str, list[str]]],
    env: dict[str, str],
    cwd: Path | None,
    *,
    runs: int,
    warmup: int,
    floor: str | None,
    requests: Callable[[], int],
) -> list[dict[str, object]]:
    """Each command `warmup` times, then `runs` rounds of all of them. Per command: median,
    p90, mean CPU, the requests the provider counted during its own runs (warm-up included)
    and, for every command but `floor` (a label of `cmds`), its median excess over the floor
    within a round."""
    walls: dict[str, list[float]] = {label: [] for label, _ in cmds}
    cpus: dict[str, list[float]] = {label: [] for label, _ in cmds}
    sent = dict.fromkeys(walls, 0)

    def run(label: str, argv: list[str]) -> tuple[float, float]:
        before = requests()
        timing = run_once(argv, env, cwd)
        sent[label] += requests() - before
        return timing

    for label, argv in cmds:
        for _ in range(warmup):
            run(label, argv)
    for r in range(runs):
        shift = r % len(cmds)
        for label, argv in cmds[shift:] + cmds[:shift]:
            wall, cpu = run(label, argv)
            walls[label].append(wall)
            cpus[label].append(cpu)

    rows = []
    for label, argv in cmds:
        times = sorted(walls[label])
        row: dict[str, object] = {
            "label": label,
            "cmd": argv,
            "median_ms": statistics.median(times),
            "p90_ms": times[min(len(times) - 1, int(len(times) * 0.9))],
            "cpu_ms": statistics.fmean(cpus[label]),
            "requests": sent[label],
            "runs": warmup + runs,
            "over_floor_ms": None,
        }
        if floor is not None and label != floor:
            row["over_floor_ms"] = statistics.median(a - b for a, b in zip(walls[label], walls[floor]))
        rows.append(row)
    return rows


def main(argv: list[str]) -> None:
    """`python3 bench/cold/interleave.py ROUNDS FLOOR_CMD [CMD ...]`: an A/B of shell-quoted
    commands (split with `shlex`, run without a shell) in the environment it is given; the
    first command is the floor."""
    rounds, *cmds = argv
    labelled = [(cmd, shlex.split(cmd)) for cmd in cmds]
    rows = interleaved(
        labelled, dict(os.environ), None, runs=int(rounds), warmup=3, floor=cmds[0], requests=lambda: 0
    )
    for row in rows:
        over = "floor" if row["over_floor_ms"] is None else f"{row['over_floor_ms']:+.2f} ms"
        print(f"{row['median_ms']:8.2f} ms median  {row['cpu_ms']:8.2f} ms CPU  {over:>10}  {row['label']}")


if __name__ == "__main__":
    main(sys.argv[1:])
