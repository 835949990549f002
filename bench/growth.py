"""`make bench-growth`: after `bench.py --size S` and `--size M`, print for every dashboard the
ratio median(M) / median(S) (the target is at most 1.5: a province ten times larger must not
make the dashboards much slower)."""

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
DASHBOARDS = ["dashboard root", "dashboard mid", "dashboard leaf", "drill-down tree", "staff table", "organisation"]


def main(small: str, large: str) -> None:
    s = json.loads((RESULTS / f"{small}.json").read_text())
    m = json.loads((RESULTS / f"{large}.json").read_text())
    print(f"\ngrowth {large}/{small} (median ms)")
    print(f"{'page':<28}{small:>9}{large:>9}{'ratio':>8}")
    worst = 0.0
    for section, suffix in (("pages", ""), ("cached", " (cached)")):
        for name in DASHBOARDS:
            a, b = s[section][name]["median"], m[section][name]["median"]
            worst = max(worst, b / a)
            print(f"{name + suffix:<28}{a:>9.1f}{b:>9.1f}{b / a:>8.2f}")
    print(f"largest ratio {worst:.2f} (target at most 1.5)")


if __name__ == "__main__":
    main(*(sys.argv[1:3] if len(sys.argv) >= 3 else ("S", "M")))
