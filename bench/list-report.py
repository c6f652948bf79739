#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Prints the package-list benchmark as a table: p50, p99 and requests per second per query at
10,000 and 1,000,000 packages, the cost ratio between the two sizes, and consign's first page
against nginx serving the same bytes."""
import sys

rows = {}
nginx = None
for line in open(sys.argv[1]):
    f = line.split()
    if f[0] == "sqlite":
        continue
    if f[0] == "nginx":
        nginx = (float(f[2]), float(f[3]), f[4])
        continue
    n, q, p50, p99, rps = f[0], f[1], float(f[2]), float(f[3]), f[4]
    rows.setdefault(q, {})[n] = (p50, p99, rps)

sizes = sorted({n for by in rows.values() for n in by}, key=int)
lo, hi = sizes[0], sizes[-1]
print("%-62s %22s %22s %7s" % ("query (GET /v1.1/teams/T/packages?...)", lo + ": p50/p99 ms, rps",
                                hi + ": p50/p99 ms, rps", "ratio"))
for q, by in rows.items():
    small, big = by.get(lo), by.get(hi)
    cell = lambda r: "%6.2f %7.2f %7s" % r if r else "-"
    ratio = "%.2f" % (big[0] / small[0]) if small and big and small[0] > 0 else "-"
    print("%-62s %22s %22s %7s" % (q[:62], cell(small), cell(big), ratio))
if nginx and "limit=50" in rows and hi in rows["limit=50"]:
    ours = rows["limit=50"][hi]
    print()
    print("ratio: p50 at the larger size over p50 at the smaller; near 1 means flat cost")
    print("first page at " + hi + ": consign %s req/s, nginx (same bytes, static) %s req/s: ratio %.2f"
          % (ours[2], nginx[2],
             float(ours[2]) / float(nginx[2]) if "ERR" not in (ours[2], nginx[2]) else 0))
