#!/usr/bin/env python3
"""The GB/s of several gemv_bench tables side by side (compare_variants.sh, compare_gemv_grid.sh).
  gemv_side_by_side.py OUT_DIR PREFIX HEADER NAME...
reads OUT_DIR/PREFIX<NAME>.md for each NAME; HEADER is the column title with {} for the name.
The last column is the best of a row over its first (the committed or default run)."""
import re
import sys


def main():
    out, prefix, header, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    table, copy = {}, {}
    for n in names:
        for line in open(f"{out}/{prefix}{n}.md"):
            if line.startswith("# copy"):
                copy[n] = float(re.search(r"([\d.]+) GB/s", line).group(1))
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 9 and cells[0] not in ("format", "---"):  # format, shape, MB, kernel, µs, GB/s, ...
                table.setdefault((cells[0], cells[1], cells[3]), {})[n] = float(cells[5])
    print("\n| format | rows x cols | kernel | " + " | ".join(header.format(n) + " GB/s (of copy)" for n in names)
          + f" | best / {names[0]} |")
    print("|---|---|---|" + "---:|" * (len(names) + 1))
    for (f, s, k), r in table.items():
        cells = [f"{r[n]:.0f} ({100 * r[n] / copy[n]:.0f}%)" if n in r and copy.get(n) else "" for n in names]
        best = f"{max(r.values()) / r[names[0]]:.2f}x" if r.get(names[0]) else ""  # 0 GB/s on a CPU adapter
        print(f"| {f} | {s} | {k} | " + " | ".join(cells) + f" | {best} |")


if __name__ == "__main__":
    main()
