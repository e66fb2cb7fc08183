"""``deepcolor report``: the benchmark results of every method as a Markdown/HTML report.

* :mod:`deepcolor.evaluation.report.specs`    -- its settings; method and predictions specs
* :mod:`deepcolor.evaluation.report.build`    -- orchestration (benchmark runs, statistics)
* :mod:`deepcolor.evaluation.report.stats`    -- bootstrap confidence intervals, paired tests
* :mod:`deepcolor.evaluation.report.runtime`  -- run time by image size (the paper's Table II)
* :mod:`deepcolor.evaluation.report.grids`    -- the images of the qualitative figures
* :mod:`deepcolor.evaluation.report.write`    -- report.md / report.html / report.tex / report.json
* :mod:`deepcolor.evaluation.report.tables`   -- Markdown/HTML/LaTeX tables
* :mod:`deepcolor.evaluation.report.figures`  -- matplotlib figures (Agg; ``pip install -e .[bench]``)
* :mod:`deepcolor.evaluation.report.document` -- the report as Markdown and self-contained HTML

Python API::

    from deepcolor.evaluation.report import Settings, build_report
    build_report(Settings(output="report", data="~/datasets", methods="gray,deepcolor", limit=50))
"""

from deepcolor.evaluation.report.specs import ReportError, Settings

__all__ = ["ReportError", "Settings", "build_report"]


def __getattr__(name):
    # lazy, so that building the command line's help (which reads Settings) imports no numpy
    if name == "build_report":
        from deepcolor.evaluation.report.build import build_report

        return build_report
    raise AttributeError(f"module 'deepcolor.evaluation.report' has no attribute {name!r}")
