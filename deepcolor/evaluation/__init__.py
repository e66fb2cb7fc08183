"""Evaluation: the method registry, the benchmark harness (the paper's PSNR protocol),
the report, and the scene parser's scores."""
