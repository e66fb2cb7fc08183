"""Tables of the report: a small :class:`Table` (Markdown and HTML) and the builders of
the report's tables from per-method results.

A *result* is a dict as :mod:`deepcolor.evaluation.report.build` makes them::

    {"label": "deepcolor (refine=jbf)", "status": "ok" | "unavailable" | "failed",
     "reason": str, "rows": [per-image rows], "summary": summary.json dict,
     "psnr": stats.describe(...) dict, "versus": {"mean_diff", "p", "p_wilcoxon", ...} or None}
"""

import html
import math

import numpy as np


class Table:
    """Rows of cells (strings) under a header; ``align`` is ``"l"`` or ``"r"`` per column."""

    def __init__(self, header, rows=(), align=None):
        self.header = [str(h) for h in header]
        self.rows = [[str(c) for c in row] for row in rows]
        self.align = list(align or ["l"] + ["r"] * (len(self.header) - 1))
        for row in self.rows:
            if len(row) != len(self.header):
                raise ValueError(f"table row has {len(row)} cells, header {len(self.header)}: {row}")

    def add(self, row):
        row = [str(c) for c in row]
        if len(row) != len(self.header):
            raise ValueError(f"table row has {len(row)} cells, header {len(self.header)}: {row}")
        self.rows.append(row)

    def to_markdown(self):
        def esc(text):
            return text.replace("|", "\\|")

        rule = [("---:" if a == "r" else ":---") for a in self.align]
        lines = ["| " + " | ".join(esc(h) for h in self.header) + " |", "| " + " | ".join(rule) + " |"]
        lines += ["| " + " | ".join(esc(c) for c in row) + " |" for row in self.rows]
        return "\n".join(lines)

    def to_html(self):
        def cell(tag, text, a):
            style = ' style="text-align:right"' if a == "r" else ""
            return f"<{tag}{style}>{html.escape(text)}</{tag}>"

        head = "".join(cell("th", h, a) for h, a in zip(self.header, self.align))
        body = "".join("<tr>" + "".join(cell("td", c, a) for c, a in zip(row, self.align)) + "</tr>\n" for row in self.rows)
        return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>"


    def to_latex(self, caption=None):
        """A booktabs ``table`` environment (``\\usepackage{booktabs}``), cells escaped."""
        def esc(text):
            for a, b in (("\\", "\\textbackslash{}"), ("&", "\\&"), ("%", "\\%"), ("_", "\\_"), ("#", "\\#"),
                         ("Δ", "$\\Delta$"), ("↓", "$\\downarrow$"), ("↑", "$\\uparrow$")):
                text = text.replace(a, b)
            return text

        lines = ["\\begin{table}[t]", "\\centering", "\\begin{tabular}{" + "".join(self.align) + "}", "\\toprule",
                 " & ".join(esc(h) for h in self.header) + " \\\\", "\\midrule"]
        lines += [" & ".join(esc(c) for c in row) + " \\\\" for row in self.rows]
        lines += ["\\bottomrule", "\\end{tabular}"]
        if caption:
            lines.append("\\caption{" + esc(caption) + "}")
        lines.append("\\end{table}")
        return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- formatting


def num(value, digits=2):
    """A number for a table: ``inf``, ``-`` for NaN/None, else fixed ``digits``."""
    if value is None:
        return "-"
    value = float(value)
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}f}"


def seconds(value):
    """Seconds: ``123``, ``12.3``, ``1.23``, ``0.123``, ``0.004``, ``<0.001``."""
    if value is None or not math.isfinite(float(value)):
        return "-"
    value = float(value)
    if value == 0:
        return "0"
    for limit, digits in ((100, 0), (10, 1), (1, 2), (0.001, 3)):
        if value >= limit:
            return f"{value:.{digits}f}"
    return "<0.001"


def pvalue(p):
    """A p-value: ``<0.001`` below one in a thousand, else three decimals."""
    if p is None or not math.isfinite(float(p)):
        return "-"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def interval(ci, digits=2):
    low, high = ci
    if not (math.isfinite(low) and math.isfinite(high)):
        return "-"
    return f"[{low:.{digits}f}, {high:.{digits}f}]"


def signed(value, digits=2):
    if value is None or not math.isfinite(float(value)):
        return "-"
    return f"{float(value):+.{digits}f}"


# --------------------------------------------------------------------------- report tables

MAIN_HEADER = ("method", "n", "PSNR mean", "median", "std", "95% CI of mean", "SSIM", "AuC", "colorfulness",
               "s/img (median)", "ΔPSNR vs ref", "p (paired bootstrap)", "p (Wilcoxon)")


#: The newer papers' metrics (``--metrics``): a column each when any run has them.
EXTRA_COLUMNS = (("LPIPS", "lpips_mean", 4), ("FID", "fid", 2), ("ΔCF", "dcf", 2))


def main_table(results, reference=None):
    """One row per method: PSNR statistics, SSIM, AuC, colorfulness, seconds, and the paired
    comparison with ``reference`` (a label), then LPIPS / FID / ΔCF when the runs computed
    them. Unavailable methods get one explanatory row."""
    extra = [c for c in EXTRA_COLUMNS if any(c[1] in (r.get("summary") or {}) for r in results if r["status"] == "ok")]
    header = MAIN_HEADER + tuple(c[0] for c in extra)
    table = Table(header)
    for r in results:
        if r["status"] != "ok":
            word = "not available" if r["status"] == "unavailable" else "failed"
            table.add([r["label"], "-", f"{word}: {r['reason']}"] + ["-"] * (len(header) - 3))
            continue
        s, d, v = r["summary"], r["psnr"], r.get("versus")
        is_ref = r["label"] == reference
        table.add([
            r["label"] + (" (ref)" if is_ref else "") + (f" [same run as {r['same_as']}]" if r.get("same_as") else ""), d["n"], num(d["mean"]), num(d["median"]), num(d["std"]),
            interval(d["ci"]), num(s["ssim_mean"], 3), num(s["auc_mean"], 3), num(s["colorfulness_mean"], 1),
            seconds(s["seconds_median"]),
            "-" if is_ref or not v else signed(v["mean_diff"]),
            "-" if is_ref or not v else pvalue(v["p"]),
            "-" if is_ref or not v else pvalue(v["p_wilcoxon"]),
        ] + [num(s[key], digits) if key in s else "-" for _, key, digits in extra])
    return table


#: Columns of :func:`paper_table` per dataset: (header, summary key, digits), kept when any run has them.
PAPER_COLUMNS = (("PSNR↑", "psnr_mean", 2), ("SSIM↑", "ssim_mean", 3), ("LPIPS↓", "lpips_mean", 3),
                 ("FID↓", "fid", 2), ("ΔCF↓", "dcf", 2))


def paper_table(datasets, titles):
    """One row per method, the chosen metrics of every dataset side by side: the table a
    paper pastes (``report.tex``). ``datasets`` is ``{name: [result, ...]}``."""
    labels = []
    for results in datasets.values():
        labels += [r["label"] for r in results if r["status"] == "ok" and r["label"] not in labels]
    columns = []
    for ds, results in datasets.items():
        for head, key, digits in PAPER_COLUMNS:
            if any(key in r["summary"] for r in results if r["status"] == "ok"):
                columns.append((ds, f"{titles[ds]} {head}", key, digits))
    table = Table(["method"] + [c[1] for c in columns])
    by_label = {ds: {r["label"]: r for r in results if r["status"] == "ok"} for ds, results in datasets.items()}
    for label in labels:
        cells = []
        for ds, _, key, digits in columns:
            r = by_label[ds].get(label)
            cells.append(num(r["summary"][key], digits) if r is not None and key in r["summary"] else "-")
        table.add([label] + cells)
    return table


def category_table(results, categories=None):
    """Mean PSNR per category (rows) and method (columns), with the image count per category.

    ``categories`` fixes the row order (e.g. SIFT Flow's eight); others follow sorted; images
    without a category are grouped as ``(none)``.
    """
    ok = [r for r in results if r["status"] == "ok"]
    seen = []
    for r in ok:
        for row in r["rows"]:
            c = row.get("category") or "(none)"
            if c not in seen:
                seen.append(c)
    order = [c for c in (categories or ()) if c in seen] + sorted(c for c in seen if c not in (categories or ()))
    table = Table(["category", "n"] + [r["label"] for r in ok])
    for c in order:
        counts, cells = 0, []
        for r in ok:
            values = np.array([row["psnr"] for row in r["rows"] if (row.get("category") or "(none)") == c], dtype=float)
            counts = max(counts, values.size)
            good = values[np.isfinite(values)]
            cells.append(num(good.mean()) if good.size else ("inf" if values.size else "-"))
        table.add([c, counts] + cells)
    return table


def runtime_table(runtime, paper_rows):
    """Seconds per image by size: ours (median of runs) beside the paper's and Deshpande's."""
    table = Table(["size", "pixels", "ours: median s", "runs", "Deep Colorization (paper)", "Deshpande et al. 2015",
                   "paper / ours"])
    ours = {m["size"]: m for m in runtime.get("measurements", [])}
    sizes = sorted(set(ours) | set(paper_rows))
    for size in sizes:
        m = ours.get(size)
        paper = paper_rows.get(size, (None, None))
        table.add([f"{size}x{size}", f"{size * size:,}", seconds(m["median"]) if m else "-", m["runs"] if m else "-",
                   seconds(paper[0]), seconds(paper[1]),
                   f"{paper[0] / m['median']:.1f}x" if m and paper[0] and m["median"] > 0 else "-"])
    return table


def sweep_table(sweep_rows, reference_mean=None):
    """PSNR per number of hints (``hints_sweep.csv`` rows)."""
    header = ["hints", "n", "PSNR mean", "median", "SSIM", "AuC", "s/img (median)"]
    if reference_mean is not None:
        header.append("vs ref")
    table = Table(header)
    for row in sweep_rows:
        cells = [int(row["hints"]), int(row["n_images"]), num(row["psnr_mean"]), num(row["psnr_median"]),
                 num(row["ssim_mean"], 3), num(row["auc_mean"], 3), seconds(row["seconds_median"])]
        if reference_mean is not None:
            cells.append(signed(float(row["psnr_mean"]) - reference_mean))
        table.add(cells)
    return table
