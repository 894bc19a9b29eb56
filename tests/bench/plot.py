#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Draws make bench's figures as SVG, next to its tables:

    plot.py OUT_DIR build/bench/6.12.raw [more .raw files]

writes, for each raw file that has them:
  OUT_DIR/KERNEL-per-packet.svg  the target's cost per packet against the
                                 number of flows (log scale), ours and the
                                 original: median, and a bar from the
                                 smallest to the largest repetition;
  OUT_DIR/KERNEL-exporter.svg    the exporter's cost per exported flow under
                                 churn, each repetition of each module.
Costs are emulated instructions when the run used -icount, otherwise ns.
Plain SVG written by hand: no plotting library to install.
"""
import math
import os
import statistics
import sys
from xml.sax.saxutils import escape

from report import impls_of, parse, target_costs

W, H = 640, 400
LEFT, RIGHT, TOP, BOTTOM = 70, 150, 40, 50
COLORS = {"ours": "#1f77b4", "theirs": "#d62728", "ours+hash4": "#2ca02c", "ours+aggr16": "#9467bd"}
NAMES = {"ours": "ours", "theirs": "original", "ours+hash4": "ours, hash sampler 1:4",
         "ours+aggr16": "ours, 16 aggregation rules"}


class Svg:
    def __init__(self, title):
        self.parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
                      f'font-family="sans-serif" font-size="12">',
                      f'<rect width="{W}" height="{H}" fill="white"/>',
                      f'<text x="{W / 2}" y="20" text-anchor="middle" font-size="14">{escape(title)}</text>']

    def line(self, x1, y1, x2, y2, color="black", width=1, dash=None):
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                          f'stroke="{color}" stroke-width="{width}"{d}/>')

    def text(self, x, y, s, anchor="middle", rotate=None):
        r = f' transform="rotate({rotate} {x:.1f} {y:.1f})"' if rotate is not None else ""
        self.parts.append(f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{r}>{escape(s)}</text>')

    def circle(self, x, y, color):
        self.parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{color}"/>')

    def rect(self, x, y, w, h, color):
        self.parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{color}"/>')

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(self.parts + ["</svg>", ""]))


def nice_top(v):
    """A round axis maximum at or above v."""
    if v <= 0:
        return 1
    step = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if m * step >= v:
            return m * step
    return 10 * step


def y_axis(svg, top, label):
    y0, y1 = H - BOTTOM, TOP
    svg.line(LEFT, y0, LEFT, y1)
    for i in range(6):
        v = top * i / 5
        y = y0 - (y0 - y1) * i / 5
        svg.line(LEFT - 4, y, LEFT, y)
        svg.line(LEFT, y, W - RIGHT, y, color="#dddddd")
        svg.text(LEFT - 8, y + 4, f"{v:g}", anchor="end")
    svg.text(18, (y0 + y1) / 2, label, rotate=-90)


def legend(svg, impls):
    for n, i in enumerate(impls):
        y = TOP + 10 + 18 * n
        svg.rect(W - RIGHT + 12, y - 8, 10, 10, COLORS.get(i, "gray"))
        svg.text(W - RIGHT + 28, y + 1, NAMES.get(i, i), anchor="start")


def per_packet(path, out, runs, kernel, shift):
    impls = impls_of(runs)
    cost = target_costs(runs, impls)
    flows = [f for f in sorted(cost) if any(cost[f][i] for i in impls)]
    if not flows:
        return None
    unit = 2 ** shift if shift is not None else 1
    label = "instructions per packet" if shift is not None else "ns per packet"
    vals = {i: {f: [x / unit for x in cost[f][i]] for f in flows if cost[f][i]} for i in impls}
    top = nice_top(max(max(v) for per in vals.values() for v in per.values()) * 1.1)
    svg = Svg(f"NETFLOW target, cost per packet: {kernel}")
    y_axis(svg, top, label)
    lo, hi = math.log10(flows[0]), math.log10(flows[-1])
    span = hi - lo or 1

    def x_of(f):
        return LEFT + 30 + (W - RIGHT - LEFT - 60) * (math.log10(f) - lo) / span

    def y_of(v):
        return (H - BOTTOM) - (H - BOTTOM - TOP) * v / top

    svg.line(LEFT, H - BOTTOM, W - RIGHT, H - BOTTOM)
    for f in flows:
        svg.line(x_of(f), H - BOTTOM, x_of(f), H - BOTTOM + 4)
        svg.text(x_of(f), H - BOTTOM + 18, f"{f:,}")
    svg.text((LEFT + W - RIGHT) / 2, H - 12, "flows in the table (log scale)")
    for i in impls:
        color = COLORS.get(i, "gray")
        pts = [(x_of(f), y_of(statistics.median(v))) for f, v in sorted(vals[i].items())]
        for (x1, y1), (x2, y2) in zip(pts, pts[1:]):
            svg.line(x1, y1, x2, y2, color=color, width=2)
        for f, v in vals[i].items():
            svg.line(x_of(f), y_of(min(v)), x_of(f), y_of(max(v)), color=color)
            svg.circle(x_of(f), y_of(statistics.median(v)), color)
    if "theirs" in vals and vals["theirs"]:
        # The goal of half the original's cost, at each flow count.
        half = [(x_of(f), y_of(statistics.median(v) / 2)) for f, v in sorted(vals["theirs"].items())]
        for (x1, y1), (x2, y2) in zip(half, half[1:]):
            svg.line(x1, y1, x2, y2, color="gray", dash="5,4")
        svg.text(half[-1][0], half[-1][1] + 16, "half the original", anchor="end")
    legend(svg, impls)
    name = os.path.join(out, f"{path}-per-packet.svg")
    svg.save(name)
    return name


def exporter(path, out, exp, kernel, shift):
    unit = 2 ** shift if shift is not None else 1
    bars = []
    for i in ("ours", "theirs"):
        for d in exp.get(i, []):
            if int(d.get("kworker_flows", 0)) > 0:
                bars.append((i, d["rep"], int(d["kworker_ns"]) / int(d["kworker_flows"]) / unit))
    if not bars:
        return None
    label = "instructions per exported flow" if shift is not None else "ns per exported flow"
    top = nice_top(max(v for _, _, v in bars) * 1.1)
    svg = Svg(f"Exporter under churn, cost per exported flow: {kernel}")
    y_axis(svg, top, label)
    svg.line(LEFT, H - BOTTOM, W - RIGHT, H - BOTTOM)
    slot = (W - RIGHT - LEFT) / len(bars)
    for n, (i, rep, v) in enumerate(bars):
        x = LEFT + slot * n + slot * 0.2
        h = (H - BOTTOM - TOP) * v / top
        svg.rect(x, H - BOTTOM - h, slot * 0.6, h, COLORS[i])
        svg.text(x + slot * 0.3, H - BOTTOM - h - 5, f"{v:.0f}")
        svg.text(x + slot * 0.3, H - BOTTOM + 18, f"rep {rep}")
    svg.text((LEFT + W - RIGHT) / 2, H - 12, "65536 flows, timeouts 1 s, NetFlow v5; workqueue CPU time / flows")
    legend(svg, [i for i in ("ours", "theirs") if any(b[0] == i for b in bars)])
    name = os.path.join(out, f"{path}-exporter.svg")
    svg.save(name)
    return name


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for raw in sys.argv[2:]:
        runs, _, exp, _, flavor, _, kernel, shift = parse(raw)
        base = os.path.basename(raw).removesuffix(".raw")
        for made in (per_packet(base, out, runs, kernel or flavor, shift),
                     exporter(base, out, exp, kernel or flavor, shift)):
            if made:
                print(made)


if __name__ == "__main__":
    main()
