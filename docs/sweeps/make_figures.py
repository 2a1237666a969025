"""Regenerate the figures of docs/sweeps.rst from the installed liqspec: run the embedded default
sweep (``liqspec sweep``) into a temporary folder and keep its three plots and its summary table
(without the machine-dependent lines: where and how long it ran, and the paths written).

    .venv/bin/python docs/sweeps/make_figures.py

The sweep is deterministic (the same table whatever runs it), so the figures change only when
the default sweep, the engine or the plots do.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PLOTS = ("heatmap.png", "amplification.png", "fund_fan.png")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "sweep"
        result = subprocess.run([sys.executable, "-m", "liqspec", "sweep", "--out", str(out),
                                 "--quiet"], capture_output=True, text=True, check=True)
        for name in PLOTS:
            shutil.copyfile(out / name, HERE / name)
    lines = []
    for line in result.stdout.splitlines():
        if line.startswith("written:"):
            break
        if line.startswith("ran on"):
            continue
        lines.append(line.replace("; 0 already done", "").rstrip())
    (HERE / "summary.txt").write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    print(f"wrote {', '.join(PLOTS)} and summary.txt into {HERE}")


if __name__ == "__main__":
    main()
