"""A minimal document model rendered to Markdown (``report.md``, images as relative links)
and to a self-contained HTML page (``report.html``, images inline as base64)."""

import base64
import html
import os
import re

_CODE = re.compile(r"`([^`]+)`")

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
th { background: #f3f3f3; }
code, pre { background: #f6f6f6; }
pre { padding: 0.6em; overflow-x: auto; }
img { max-width: 100%; }
figcaption { font-size: 0.9em; color: #555; }
"""


def _inline_html(text):
    """Escape ``text`` and turn Markdown code spans into ``<code>``."""
    parts, last = [], 0
    for m in _CODE.finditer(text):
        parts.append(html.escape(text[last : m.start()]))
        parts.append(f"<code>{html.escape(m.group(1))}</code>")
        last = m.end()
    parts.append(html.escape(text[last:]))
    return "".join(parts)


class Document:
    """Blocks appended in order: headings, paragraphs, bullet lists, code, tables, images."""

    def __init__(self, title):
        self.title = title
        self.blocks = []

    def heading(self, text, level=2):
        self.blocks.append(("heading", level, text))

    def paragraph(self, text):
        self.blocks.append(("paragraph", text))

    def bullets(self, items):
        self.blocks.append(("bullets", list(items)))

    def code(self, text):
        self.blocks.append(("code", text))

    def table(self, table):
        self.blocks.append(("table", table))

    def image(self, path, caption):
        """``path`` relative to the report's folder (where report.md is written)."""
        self.blocks.append(("image", path, caption))

    # ------------------------------------------------------------------ rendering

    def to_markdown(self):
        out = [f"# {self.title}", ""]
        for block in self.blocks:
            kind = block[0]
            if kind == "heading":
                out += ["#" * block[1] + " " + block[2], ""]
            elif kind == "paragraph":
                out += [block[1], ""]
            elif kind == "bullets":
                out += [f"- {item}" for item in block[1]] + [""]
            elif kind == "code":
                out += ["```", block[1], "```", ""]
            elif kind == "table":
                out += [block[1].to_markdown(), ""]
            elif kind == "image":
                out += [f"![{block[2]}]({block[1]})", "", f"*{block[2]}*", ""]
        return "\n".join(out)

    def to_html(self, base_dir):
        """The page; images are read from ``base_dir`` and embedded as data URIs."""
        out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
               f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head><body>",
               f"<h1>{html.escape(self.title)}</h1>"]
        for block in self.blocks:
            kind = block[0]
            if kind == "heading":
                level = min(6, block[1])
                out.append(f"<h{level}>{_inline_html(block[2])}</h{level}>")
            elif kind == "paragraph":
                out.append(f"<p>{_inline_html(block[1])}</p>")
            elif kind == "bullets":
                out.append("<ul>" + "".join(f"<li>{_inline_html(i)}</li>" for i in block[1]) + "</ul>")
            elif kind == "code":
                out.append(f"<pre><code>{html.escape(block[1])}</code></pre>")
            elif kind == "table":
                out.append(block[1].to_html())
            elif kind == "image":
                out.append(self._figure_html(os.path.join(base_dir, block[1]), block[2]))
        out.append("</body></html>")
        return "\n".join(out)

    @staticmethod
    def _figure_html(path, caption):
        ext = os.path.splitext(path)[1].lower().lstrip(".")
        mime = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "svg": "image/svg+xml"}.get(ext, "image/png")
        with open(path, "rb") as handle:
            data = base64.b64encode(handle.read()).decode("ascii")
        return (f'<figure><img alt="{html.escape(caption)}" src="data:{mime};base64,{data}">'
                f"<figcaption>{_inline_html(caption)}</figcaption></figure>")
