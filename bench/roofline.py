#!/usr/bin/env python3
"""Roofline picture of upsample_bench results.

usage: roofline.py RESULTS.json [MORE.json ...] [-o roofline.png] [--fallback-svg]

Left panel: the rows that do arithmetic (transposed convolution and its gradients, and
nearest-neighbour unpooling's backward sums) on a roofline. x = useful FLOPs per minimal byte
(arithmetic intensity), y = achieved GFLOP/s; the roofs are bandwidth x intensity capped by the
SIMT FMA peaks the floors use (fp32 FFMA; f16/bf16 HFMA2), and dotted, the tensor-core peaks where
known. Right panel: every timed row's achieved GB/s against the bytes it must move, under the
bandwidth roof: the view for the data-movement ops, which do no arithmetic. Colour = algorithm,
marker = dtype, filled = forward op, hollow = gradient (backward op). The numbers come from the
JSON only (see README "Benchmarks"). Several JSON files of one machine (e.g. bench/gpu_check.sh's
forward and gradient runs) draw as one picture: their rows together, the peaks and title of the
first.

matplotlib draws the picture (PNG, or whatever the extension of -o asks for). Without matplotlib
the script says so and exits with status 1, unless --fallback-svg is given: then it writes the
same picture as an SVG with its own small writer, next to -o with the .svg extension. CI uses
that, as its machines have no matplotlib (Debian: apt install python3-matplotlib).
"""
import argparse
import json
import math
import os
import sys

ALGORITHM_COLORS = {
    "gather": "#1f77b4",
    "scatter_atomic": "#ff7f0e",
    "implicit_gemm": "#17becf",
    "implicit_gemm_tf32": "#bcbd22",
    "cuda": "#2ca02c",
    "cudnn": "#d62728",
    "cudnn_tf32": "#9467bd",
    "reference": "#7f7f7f",
}
DTYPE_MARKERS = {"f32": "o", "f16": "s", "bf16": "^"}
ROOF_COLOR = "#444444"


# --- what to draw: a renderer-independent description ----------------------------------------
class Panel:
    def __init__(self, title, xlabel, ylabel):
        self.title, self.xlabel, self.ylabel = title, xlabel, ylabel
        self.lines = []   # (xs, ys, color, style "solid"|"dotted", label)
        self.points = []  # (x, y, color, marker, label, hollow)
        self.texts = []   # (x, y, text, "above"|"below" the point), right-aligned at x
        self.xlim = self.ylim = None

    def fit_limits(self):
        """Log-axis limits covering every point and line, padded by a factor of two."""
        xs = [p[0] for p in self.points] + [x for line in self.lines for x in line[0]]
        ys = [p[1] for p in self.points] + [y for line in self.lines for y in line[1]]
        xs, ys = [x for x in xs if x > 0], [y for y in ys if y > 0]
        if not xs or not ys:
            self.xlim, self.ylim = (0.1, 10.0), (0.1, 10.0)
            return
        self.xlim = (min(xs) / 2, max(xs) * 2)
        self.ylim = (min(ys) / 2, max(ys) * 2)


def load_rows(results):
    return [r for r in results["rows"] if r.get("status") == "ok" and r.get("median_us", 0) > 0]


def point(row, x, y):
    """A row's marker: colour by algorithm, shape by dtype, hollow for a gradient."""
    hollow = row.get("direction") == "backward"
    label = "%s %s%s" % (row["algorithm"], row["dtype"], " (backward)" if hollow else "")
    return (x, y, ALGORITHM_COLORS.get(row["algorithm"], "#000000"), DTYPE_MARKERS.get(row["dtype"], "o"), label, hollow)


def describe(results):
    """Two panels and a title from the JSON."""
    peaks = results["peaks"]
    rows = load_rows(results)
    bandwidth = peaks["bandwidth_GBps"]  # GB/s; x GFLOP/byte -> GFLOP/s
    gpu = results.get("mode") == "gpu"
    if gpu:
        title = "upsample_bench on %s (%s)" % (results.get("device", "?"), peaks.get("source", ""))
    else:
        title = ("upsample_bench without a GPU: CPU REFERENCE backend on reduced shapes, "
                 "roofs of the %s" % peaks.get("source", "nominal H100 SXM"))

    roofline = Panel("Rows that do arithmetic: roofline", "useful FLOP / minimal byte", "achieved GFLOP/s")
    conv = [r for r in rows if r["flops"] > 0 and r["bytes"] > 0]
    intensities = [r["flops"] / r["bytes"] for r in conv] or [1.0]
    lo, hi = min(intensities) / 4, max(intensities) * 4
    roofs = [("fp32 FFMA", peaks["fp32_simt_GFLOPs"], "solid"), ("f16/bf16 HFMA2", peaks["f16_simt_GFLOPs"], "solid")]
    for key, label in (("tf32_tensor_GFLOPs", "TF32 tensor"), ("f16_tensor_GFLOPs", "f16/bf16 tensor")):
        if peaks.get(key):  # null unless known (the nominal figures)
            roofs.append((label, peaks[key], "dotted"))
    for label, peak, style in roofs:
        ridge = peak / bandwidth
        xs = [min(lo, ridge / 4), ridge, max(hi, ridge * 4)]
        roofline.lines.append((xs, [min(peak, bandwidth * x) for x in xs], ROOF_COLOR, style, None))
        # SIMT roofs labelled under their line, tensor roofs over it, so the labels stay clear of
        # the dotted tensor ramps.
        roofline.texts.append((xs[-1], peak, "%s %.0f TFLOP/s" % (label, peak / 1e3),
                               "above" if style == "dotted" else "below"))
    for r in conv:
        roofline.points.append(point(r, r["flops"] / r["bytes"], r["GFLOPs"]))
    roofline.fit_limits()

    traffic = Panel("Every row: bandwidth", "minimal bytes moved (MB)", "achieved GB/s")
    sizes = [r["bytes"] / 1e6 for r in rows if r["bytes"] > 0] or [1.0]
    xs = [min(sizes) / 4, max(sizes) * 4]
    traffic.lines.append((xs, [bandwidth, bandwidth], ROOF_COLOR, "solid", None))
    traffic.texts.append((xs[-1], bandwidth, "%.0f GB/s" % bandwidth, "below"))
    for r in rows:
        if r["bytes"] > 0:
            traffic.points.append(point(r, r["bytes"] / 1e6, r["GBps"]))
    traffic.fit_limits()
    return title, [roofline, traffic]


# --- matplotlib ---------------------------------------------------------------------------------
def render_matplotlib(title, panels, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 6))
    for ax, panel in zip(axes, panels):
        ax.set_xscale("log")
        ax.set_yscale("log")
        for xs, ys, color, style, _ in panel.lines:
            ax.plot(xs, ys, color=color, linestyle=":" if style == "dotted" else "-", linewidth=1.2)
        for x, y, text, where in panel.texts:
            ax.annotate(text, (x, y), fontsize=8, ha="right", va="bottom" if where == "above" else "top",
                        color=ROOF_COLOR)
        seen = set()
        for x, y, color, marker, label, hollow in panel.points:
            ax.scatter([x], [y], facecolors="none" if hollow else color, edgecolors=color, marker=marker, s=22,
                       alpha=0.8, label=None if label in seen else label)
            seen.add(label)
        ax.set_xlim(*panel.xlim)
        ax.set_ylim(*panel.ylim)
        ax.set_title(panel.title)
        ax.set_xlabel(panel.xlabel)
        ax.set_ylabel(panel.ylabel)
        ax.grid(True, which="major", linewidth=0.3)
        if seen:
            ax.legend(fontsize=7, loc="lower right")
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=130)


# --- the fallback: a small SVG writer with log axes ---------------------------------------------
class SvgPanel:
    """Maps data to pixels in one panel's plotting box (log scale on both axes)."""

    def __init__(self, panel, left, top, width, height):
        self.panel, self.left, self.top, self.width, self.height = panel, left, top, width, height
        self.lx = [math.log10(v) for v in panel.xlim]
        self.ly = [math.log10(v) for v in panel.ylim]

    def x(self, v):
        return self.left + (math.log10(v) - self.lx[0]) / (self.lx[1] - self.lx[0]) * self.width

    def y(self, v):
        return self.top + self.height - (math.log10(v) - self.ly[0]) / (self.ly[1] - self.ly[0]) * self.height


def svg_marker(marker, x, y, color, hollow):
    r = 4
    paint = ('fill="none" stroke="%s"' if hollow else 'fill="%s" fill-opacity="0.8"') % color
    if marker == "s":
        return '<rect x="%.1f" y="%.1f" width="%d" height="%d" %s/>' % (x - r, y - r, 2 * r, 2 * r, paint)
    if marker == "^":
        return '<polygon points="%.1f,%.1f %.1f,%.1f %.1f,%.1f" %s/>' % (x, y - r, x - r, y + r, x + r, y + r, paint)
    return '<circle cx="%.1f" cy="%.1f" r="%d" %s/>' % (x, y, r, paint)


def escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_svg(title, panels, path):
    panel_width, panel_height, margin = 560, 440, 70
    width = len(panels) * (panel_width + 2 * margin)
    height = panel_height + 2 * margin + 30
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif">' % (width, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="%d" y="22" font-size="13" text-anchor="middle">%s</text>' % (width // 2, escape(title))]
    for index, panel in enumerate(panels):
        box = SvgPanel(panel, index * (panel_width + 2 * margin) + margin + 10, margin, panel_width, panel_height)
        out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="black"/>' % (
            box.left, box.top, box.width, box.height))
        # Decade ticks and grid lines.
        for axis, (low, high) in (("x", box.lx), ("y", box.ly)):
            for decade in range(math.ceil(low), math.floor(high) + 1):
                value = 10.0 ** decade
                label = "%g" % value
                if axis == "x":
                    px = box.x(value)
                    out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#dddddd"/>' % (px, box.top, px, box.top + box.height))
                    out.append('<text x="%.1f" y="%d" font-size="10" text-anchor="middle">%s</text>' % (px, box.top + box.height + 14, label))
                else:
                    py = box.y(value)
                    out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#dddddd"/>' % (box.left, py, box.left + box.width, py))
                    out.append('<text x="%d" y="%.1f" font-size="10" text-anchor="end">%s</text>' % (box.left - 4, py + 3, label))
        out.append('<text x="%d" y="%d" font-size="12" text-anchor="middle">%s</text>' % (
            box.left + box.width // 2, box.top - 8, escape(panel.title)))
        out.append('<text x="%d" y="%d" font-size="11" text-anchor="middle">%s</text>' % (
            box.left + box.width // 2, box.top + box.height + 32, escape(panel.xlabel)))
        out.append('<text x="%d" y="%d" font-size="11" text-anchor="middle" transform="rotate(-90 %d %d)">%s</text>' % (
            box.left - 48, box.top + box.height // 2, box.left - 48, box.top + box.height // 2, escape(panel.ylabel)))
        clip = "clip%d" % index
        out.append('<clipPath id="%s"><rect x="%d" y="%d" width="%d" height="%d"/></clipPath>' % (
            clip, box.left, box.top, box.width, box.height))
        out.append('<g clip-path="url(#%s)">' % clip)
        for xs, ys, color, style, _ in panel.lines:
            points = " ".join("%.1f,%.1f" % (box.x(x), box.y(y)) for x, y in zip(xs, ys))
            dash = ' stroke-dasharray="2,3"' if style == "dotted" else ""
            out.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="1.2"%s/>' % (points, color, dash))
        for x, y, color, marker, _, hollow in panel.points:
            out.append(svg_marker(marker, box.x(x), box.y(y), color, hollow))
        for x, y, text, where in panel.texts:
            out.append('<text x="%.1f" y="%.1f" font-size="9" text-anchor="end" fill="%s">%s</text>' % (
                box.x(x) - 2, box.y(y) + (-3 if where == "above" else 11), ROOF_COLOR, escape(text)))
        out.append("</g>")
        # Legend: one entry per (algorithm, dtype, direction) present.
        labels = []
        for _, _, color, marker, label, hollow in panel.points:
            if (label, color, marker, hollow) not in labels:
                labels.append((label, color, marker, hollow))
        for i, (label, color, marker, hollow) in enumerate(labels):
            ly = box.top + box.height - 12 - 13 * (len(labels) - 1 - i)
            lx = box.left + box.width - 150
            out.append(svg_marker(marker, lx, ly - 3, color, hollow))
            out.append('<text x="%d" y="%d" font-size="9">%s</text>' % (lx + 8, ly, escape(label)))
    out.append("</svg>")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", nargs="+", help="JSON written by upsample_bench (--json); several: rows together")
    parser.add_argument("-o", "--output", default="roofline.png", help="picture to write (default roofline.png)")
    parser.add_argument("--fallback-svg", action="store_true",
                        help="without matplotlib, write an SVG (same name, .svg) with the built-in writer")
    args = parser.parse_args()

    results = None
    for path in args.results:
        with open(path, encoding="utf-8") as f:
            more = json.load(f)
        if results is None:
            results = more
        else:
            results["rows"] = results["rows"] + more["rows"]
    title, panels = describe(results)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        message = "roofline.py: matplotlib is not installed (Debian: apt install python3-matplotlib)"
        if not args.fallback_svg:
            print(message + "; pass --fallback-svg for an SVG without it", file=sys.stderr)
            return 1
        path = os.path.splitext(args.output)[0] + ".svg"
        render_svg(title, panels, path)
        print(message + "; wrote %s with the built-in SVG writer" % path)
        return 0
    render_matplotlib(title, panels, args.output)
    print("wrote %s" % args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
