"""``deepcolor report``: the benchmark results of every method as a Markdown/HTML report.

* :mod:`deepcolor.report.stats`    -- bootstrap confidence intervals, paired tests
* :mod:`deepcolor.report.tables`   -- Markdown/HTML tables
* :mod:`deepcolor.report.figures`  -- matplotlib figures (Agg; ``pip install -e .[bench]``)
* :mod:`deepcolor.report.runtime`  -- run time by image size (the paper's Table II)
* :mod:`deepcolor.report.document` -- the report as Markdown and self-contained HTML
* :mod:`deepcolor.report.build`    -- orchestration (benchmark runs, statistics, writing)

Python API::

    from deepcolor.report.build import Settings, build_report
    build_report(Settings(output="report", data="~/datasets", methods="gray,deepcolor", limit=50))
"""
