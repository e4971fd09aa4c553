"""Sum a SKYNET_CPU_REPORT file per test file: where the suite's CPU goes.

    SKYNET_CPU_REPORT=/tmp/cpu.tsv ./scripts/test.sh -q && .venv/bin/python scripts/cpu_report.py /tmp/cpu.tsv
"""

from __future__ import annotations

import sys
from collections import defaultdict


def main(path: str, top: int = 30) -> None:
    cpu, wall, count = defaultdict(float), defaultdict(float), defaultdict(int)
    for line in open(path):
        nodeid, used, took = line.rstrip("\n").split("\t")
        name = nodeid.split("::")[0]
        cpu[name] += float(used)
        wall[name] += float(took)
        count[name] += 1
    total = sum(cpu.values())
    print(f"{sum(count.values())} tests, {total / 60:.1f} min of CPU in the test processes and their children")
    print("| file | tests | CPU s | CPU per test | wall s |\n|---|---|---|---|---|")
    for name in sorted(cpu, key=cpu.get, reverse=True)[:top]:
        print(f"| {name} | {count[name]} | {cpu[name]:.1f} | {cpu[name] / count[name]:.2f} | {wall[name]:.1f} |")


if __name__ == "__main__":
    main(*sys.argv[1:2], *(int(a) for a in sys.argv[2:3]))
