# Sphinx configuration of the documentation site, built by `.ci/docs OUT_DIR` (docs/prepare.py writes the sources).
#
# Why Sphinx with myst-nb rather than MkDocs with mkdocs-jupyter: myst-nb renders the notebooks' saved outputs as they
# are (nb_execution_mode "off"), including the markdown that nbdev's show_doc writes, parsed as MyST (tables, headings
# that become anchors and sidebar entries); Sphinx reports exactly the faults the site must not have (an image it
# cannot read, a link to a page or heading that does not exist, a page left out of the table of contents) as
# warnings, which `-W --keep-going` turns into a failed build; its search runs in the browser from a prebuilt index,
# with no server; and the theme's sidebar is the table of contents, in the order the home page gives.
import configparser, sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # docs/mathml.py

_cfg = configparser.ConfigParser(delimiters=["="], interpolation=None)
_cfg.read(Path(__file__).resolve().parent.parent / "settings.ini", encoding="utf-8")
_s = _cfg["DEFAULT"]

project = _s["lib_name"]
author = _s["author"]
copyright = _s["copyright"]
release = version = _s["version"]

extensions = ["myst_nb", "mathml"]
html_math_renderer = "mathml"  # LaTeX as MathML at build time (docs/mathml.py): no MathJax from a CDN
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

nb_execution_mode = "off"  # the saved outputs, as committed; executing the notebooks is the tests' job
nb_render_markdown_format = "myst"  # markdown outputs (tables) rendered as MyST, like the markdown cells
nb_merge_streams = True
myst_heading_anchors = 4  # heading slugs: links to a definition's show_doc heading are checked
myst_enable_extensions = ["dollarmath", "html_image"]  # $math$ as Quarto reads it; <img> tags checked like ![]()

# Warnings that do not mean something is broken; every other warning fails the build.
suppress_warnings = [
    "myst.header",  # show_doc's level-3 headings under a notebook's title (nbdev's layout)
    "misc.highlighting_failure",  # a code cell that pygments cannot lex (shell lines), shown unhighlighted
]

html_theme = "furo"
html_title = f"{project} {version}"
html_static_path = [str(Path(__file__).parent / "static")]
html_css_files = ["site.css"]
html_favicon = str(Path(__file__).parent / "static" / "favicon.svg")  # else browsers ask for /favicon.ico, which is not there
html_baseurl = _s["doc_host"].rstrip("/") + _s["doc_baseurl"] + "/"
html_show_sourcelink = False
html_copy_source = False
html_theme_options = {"top_of_page_buttons": []}  # furo's "view/edit source" would name nbs/core.ipynb, not nbs/06_core.ipynb
html_last_updated_fmt = None
