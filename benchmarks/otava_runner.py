"""Runs Apache Otava with its defaults on series read from stdin; prints change-point indices.

Otava pins older numpy and scipy, so this script runs in its own virtual
environment (see the Makefile's bench target) and talks JSON over pipes.
"""

import json
import sys

from otava.analysis import compute_change_points


def main() -> None:
    series_list = json.load(sys.stdin)
    result = []
    for series in series_list:
        change_points, _ = compute_change_points(series)
        result.append([int(cp.index) for cp in change_points])
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
