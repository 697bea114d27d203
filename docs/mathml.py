"""A Sphinx extension: LaTeX math rendered to MathML when the site is built (latex2mathml), which browsers display
natively. No MathJax is loaded from a CDN, so the pages work offline and load with no failed request."""
from docutils import nodes
from latex2mathml.converter import convert


def visit_math(self, node):
    self.body.append(f'<span class="math">{convert(node.astext())}</span>')
    raise nodes.SkipNode


def visit_displaymath(self, node):
    self.body.append(f'<div class="math">{convert(node["latex"], display="block")}</div>')
    raise nodes.SkipNode


def setup(app):
    app.add_html_math_renderer("mathml", (visit_math, None), (visit_displaymath, None))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
