"""Grouped bar charts as SVG, drawn by hand (no plotting library to
install): the chart of `jitvm bench` and of tools/bench_peers.py.

Log scale, one group of bars per benchmark, one colour per series, each bar
labelled with its value and carrying a <title> tooltip, a legend on the
right.
"""
from __future__ import annotations

import math
from xml.sax.saxutils import escape

COLOURS = ['#1f77b4', '#aec7e8', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2']


def grouped_bars(groups: list[str], series: list[tuple[str, str]], values: dict, title: str,
                 tick=lambda v: f'{v:g}x', tooltip=lambda v: f'{v:.2f}x') -> str:
    """The SVG text. series: (key, label) pairs; values: {(key, group): v > 0},
    missing pairs drawn as no bar; tick and tooltip format an axis line's
    value and a bar's value."""
    top = max([1.0, *values.values()])
    decades = max(1, math.ceil(math.log10(top)))
    bottom = min([1.0, *values.values()])
    low = min(0, math.floor(math.log10(bottom)))
    left, plot_h, group = 60, 320, 22 * len(series) + 20
    plot_w = group * len(groups)
    width, height = left + plot_w + 170, plot_h + 70

    def y(v):
        return 20 + plot_h * (1 - (math.log10(v) - low) / (decades - low))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="11">',
             f'<text x="{left}" y="14">{escape(title)}</text>']
    for d in range(low, decades + 1):
        yy = y(10 ** d)
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="{"#888" if d == 0 else "#ddd"}"/>'
                     f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end">{escape(tick(10 ** d))}</text>')
    for gi, n in enumerate(groups):
        x0 = left + gi * group + 10
        for ei, (key, label) in enumerate(series):
            if (key, n) not in values:
                continue
            v, yy = values[key, n], y(values[key, n])
            base = y(10 ** low)
            parts.append(f'<rect x="{x0 + 22 * ei}" y="{yy:.1f}" width="18" height="{max(base - yy, 1):.1f}" '
                         f'fill="{COLOURS[ei % len(COLOURS)]}"><title>{escape(label)} {escape(n)}: '
                         f'{escape(tooltip(v))}</title></rect>'
                         f'<text x="{x0 + 22 * ei + 9}" y="{yy - 3:.1f}" font-size="8" '
                         f'text-anchor="middle">{v:.3g}</text>')
        parts.append(f'<text x="{x0 + 11 * len(series)}" y="{plot_h + 36}" text-anchor="middle">{escape(n)}</text>')
    for ei, (key, label) in enumerate(series):
        yy = 30 + 18 * ei
        parts.append(f'<rect x="{left + plot_w + 15}" y="{yy}" width="12" height="12" '
                     f'fill="{COLOURS[ei % len(COLOURS)]}"/><text x="{left + plot_w + 32}" y="{yy + 10}">'
                     f'{escape(label)}</text>')
    parts.append('</svg>')
    return '\n'.join(parts) + '\n'
