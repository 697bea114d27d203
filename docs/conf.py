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
_GITHUB = ('<svg stroke="currentColor" fill="currentColor" stroke-width="0" viewBox="0 0 16 16"><path fill-rule="evenodd" '
           'd="M8 0C3.58 0 0 3.58 0 8c0 3.54 2.29 6.53 5.47 7.59.4.07.55-.17.55-.38 0-.19-.01-.82-.01-1.49-2.01.37-2.53-.49-2.69-.94'
           '-.09-.23-.48-.94-.82-1.13-.28-.15-.68-.52-.01-.53.63-.01 1.08.58 1.23.82.72 1.21 1.87.87 2.33.66.07-.52.28-.87.51-1.07-1.78'
           '-.2-3.64-.89-3.64-3.95 0-.87.31-1.59.82-2.15-.08-.2-.36-1.02.08-2.12 0 0 .67-.21 2.2.82.64-.18 1.32-.27 2-.27.68 0 1.36.09 '
           '2 .27 1.53-1.04 2.2-.82 2.2-.82.44 1.1.16 1.92.08 2.12.51.56.82 1.27.82 2.15 0 3.07-1.87 3.75-3.65 3.95.29.25.54.73.54 1.48 '
           '0 1.07-.01 1.93-.01 2.2 0 .21.15.46.55.38A8.013 8.013 0 0016 8c0-4.42-3.58-8-8-8z"></path></svg>')
_ISSUE = ('<svg stroke="currentColor" fill="none" stroke-width="1.5" viewBox="0 0 16 16"><circle cx="8" cy="8" r="6.5"></circle>'
          '<path d="M8 4.5v4.5M8 11v.5"></path></svg>')
html_theme_options = {
    "top_of_page_buttons": [],  # furo's "view/edit source" would name nbs/core.ipynb, not nbs/08_core.ipynb
    "footer_icons": [  # on every page: the repository, and where to report an issue
        {"name": "Repository on GitHub", "url": _s["git_url"], "html": _GITHUB, "class": ""},
        {"name": "Report an issue", "url": _s["git_url"] + "/issues", "html": _ISSUE, "class": ""},
    ],
}
html_last_updated_fmt = None
