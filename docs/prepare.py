"""Turn the notebooks into the site's Sphinx sources, as nbdev renders them, without executing a notebook.

nbdev's own site builder (`nbdev_docs`) needs Quarto, which cannot be installed here, so the site is built by Sphinx
with myst-nb (see docs/conf.py for why Sphinx). Before Sphinx reads them, each notebook goes through nbdev's own
notebook processors (`nbdev.processors`), so that the site shows what nbdev's would:

- `#| hide`, `#| default_exp`, `#| export` and `#| exporti` cells are not shown (nbdev's `rm_export`, `hide_`);
  `#| exports` cells are; `#| echo: false` shows the output only, `#| output: false` the code only, `#| include: false`
  nothing; the directive lines themselves are never shown;
- after each exported definition, its documentation as nbdev's `show_doc` renders it (signature, docments of each
  parameter, docstring): nbdev's `add_show_docs` inserts `show_doc(NAME)` cells, and instead of executing the
  notebook's cells to evaluate them (nbdev's `exec_show_docs`), NAME is looked up in the exported module;
- backticked names of the library link to their documentation (nbdev's `add_links`), and backticked notebook names
  (`08_core`, `nbs/000_tour.ipynb`) to their pages.

Pages are named as nbdev names them (`nbs/08_core.ipynb` is `core.html`), the home page is `nbs/index.ipynb` (which
README.md is generated from), and the sidebar follows the reading order of its "reading order" section: a notebook
missing from that section stops the build.

    python docs/prepare.py SRC_DIR        writes SRC_DIR/{index,core,...,tutorials/...}.ipynb and cite.md
"""
import configparser, functools, importlib, os, posixpath, re, shutil, string, sys
from pathlib import Path

import nbformat
from execnb.nbio import read_nb
from nbdev.doclinks import _nbpath2html  # nbdev's page name of a notebook: nbs/08_core.ipynb -> core.html
from nbdev.process import NBProcessor, Processor
from nbdev.processors import (add_links, add_show_docs, ai_magics, clean_magics, filter_stream_, hide_, hide_line,
                              mv_exports, populate_language, rm_export, rm_header_dash, strip_ansi, strip_hidden_metadata)
from nbdev.showdoc import BasicMarkdownRenderer

ROOT = Path(__file__).resolve().parent.parent
NBS = ROOT / "nbs"


class BuildError(Exception): pass


def settings():
    "settings.ini's values"
    cfg = configparser.ConfigParser(delimiters=["="], interpolation=None)
    cfg.read(ROOT / "settings.ini", encoding="utf-8")
    return dict(cfg["DEFAULT"])


def notebooks():
    "Every notebook of the site but the home page, relative to nbs/"
    return sorted(p.relative_to(NBS).as_posix() for p in NBS.rglob("*.ipynb")
                  if p.name != "index.ipynb" and not any(q.startswith((".", "_")) for q in p.relative_to(NBS).parts))


def page(rel):
    "nbdev's page name of notebook `rel` (relative to nbs/), without suffix: 08_core.ipynb -> core"
    return _nbpath2html(Path(rel)).with_suffix("").as_posix()


_heading = re.compile(r"^(#+)\s+(.*)$", re.M)


def reading_order(index, rels):
    "The notebooks `rels` in the order the home page's 'reading order' section names them (backticked)"
    text = "\n\n".join(c.source for c in index.cells if c.cell_type == "markdown")
    heads = [m for m in _heading.finditer(text)]
    start = next((m for m in heads if "reading order" in m.group(2).lower()), None)
    if start is None: raise BuildError("nbs/index.ipynb has no heading with 'reading order' in it: the site's order comes from it")
    end = next((m.start() for m in heads if m.start() > start.start() and len(m.group(1)) <= len(start.group(1))), len(text))
    by_stem = {}
    for rel in rels: by_stem.setdefault(Path(rel).stem, []).append(rel)
    dup = {k: v for k, v in by_stem.items() if len(v) > 1}
    if dup: raise BuildError(f"notebooks with the same name cannot be told apart in the reading order: {dup}")
    order = []
    for tok in re.findall(r"`([^`\n]+)`", text[start.start():end]):
        stem = Path(tok).stem if tok.endswith(".ipynb") else tok.rstrip("/").split("/")[-1]
        if stem in by_stem and by_stem[stem][0] not in order: order.append(by_stem[stem][0])
    missing = [r for r in rels if r not in order]
    if missing:
        raise BuildError("notebooks missing from the reading order (the section '" + start.group(2).strip()
                         + "' of nbs/index.ipynb, README.md): " + ", ".join(f"nbs/{m}" for m in missing))
    return order


def group(rel, module):
    "The sidebar caption of notebook `rel`, which exports `module`"
    if rel.startswith("tutorials/"): return "Walkthroughs and studies"
    if rel.startswith("explanations/"): return "Explanations"
    if "/" in rel: return rel.split("/")[0].replace("_", " ").capitalize()
    return "Reference" if module else "Start here"


def default_exp(nb):
    for c in nb.cells:
        m = c.cell_type == "code" and re.search(r"^\s*#\|\s*default_exp\s+(\S+)", c.source, re.M)
        if m: return m.group(1)


def _dataclass_init_source(get_source):
    "fastcore's `get_source`, which also reads the `__init__` a dataclass generates (`@delegates(SomeDataclass)`) from its class"
    import fastcore.docments as fd
    @functools.wraps(get_source)
    def wrapper(s):
        code = getattr(s, "__code__", None)
        if code is not None and code.co_filename == "<string>" and s.__qualname__.endswith(".__init__"):
            owner = functools.reduce(getattr, s.__qualname__.split(".")[:-1], sys.modules[s.__module__])
            if fd.isdataclass(owner): return fd.get_dataclass_source(owner)
        return get_source(s)
    return wrapper

import fastcore.docments
fastcore.docments.get_source = _dataclass_init_source(fastcore.docments.get_source)


def _source_line(obj):
    import inspect
    try: return inspect.getsourcelines(inspect.unwrap(obj))[1]
    except (OSError, TypeError): return None


class show_docs_from_library(Processor):
    "Turn the `show_doc(NAME)` cells `add_show_docs` inserted into markdown cells of `show_doc`'s rendering, NAME looked up in the exported module"
    def begin(self):
        mod = default_exp(self.nb)
        self.module = importlib.import_module(f"{settings()['lib_path']}.{mod}") if mod else None
        self.names = []

    def cell(self, cell):
        if not getattr(cell, "has_sd", False): return
        name = re.fullmatch(r"show_doc\((.+)\)", cell.source.strip()).group(1)
        if self.module is None: raise BuildError(f"{name} is exported by a notebook without `#| default_exp`")
        try: obj = functools.reduce(getattr, name.split("."), self.module)
        except AttributeError:
            raise BuildError(f"{self.module.__name__} has no {name}: run nbdev_export (the library is out of sync with the notebooks)")
        md = BasicMarkdownRenderer(obj, name=name)._repr_markdown_()  # named as nbdev names its anchor (a decorator may rename the function)
        md = re.sub(r"\A\s*---\s*\n", "", md)  # the separator before each definition (the heading separates them here)
        # the link to the source: Quarto's attribute syntax as HTML, and a line number where nbdev finds none
        line = _source_line(obj)
        md = re.sub(r'\[source\]\((\S+?)(#LNone)?\)\{[^}]*\}',
                    lambda m: f'<a class="nbdev-source" href="{m.group(1)}{f"#L{line}" if m.group(2) and line else ""}">source</a>',
                    md)
        cell.cell_type, cell.source = "markdown", md.strip()
        for k in ("outputs", "execution_count"): cell.pop(k, None)
        self.names.append(name)


_quarto_opt = re.compile(r"^\s*#\|\s*([\w-]+)\s*:\s*(.*?)\s*$")


def quarto_options(cell):
    "Quarto's cell options that nbdev leaves for Quarto, as myst-nb's tags; then no directive line is left in the code"
    if cell.cell_type != "code": return
    lines, opts = cell.source.splitlines(), {}
    while lines and (lines[0].lstrip().startswith("#|") or not lines[0].strip()):
        m = _quarto_opt.match(lines.pop(0))
        if m: opts[m.group(1)] = m.group(2).lower()
    cell.source = "\n".join(lines)
    tags = cell.metadata.setdefault("tags", [])
    if opts.get("include") == "false": cell.source = None
    if opts.get("echo") == "false": tags.append("remove-input")
    if opts.get("output") == "false": tags.append("remove-output")
    if not tags: cell.metadata.pop("tags")


PROCS = [populate_language, add_show_docs, strip_ansi, hide_line, filter_stream_, rm_header_dash, show_docs_from_library,
         rm_export, ai_magics, clean_magics, hide_, add_links, mv_exports, strip_hidden_metadata, quarto_options]


def process(path):
    "The notebook at `path` through nbdev's processors; returns it, the names it documents and its module"
    nb = read_nb(path)
    module = default_exp(nb)
    proc = NBProcessor(nb=nb, procs=PROCS)
    cwd = os.getcwd(); os.chdir(path.parent)  # as nbdev does: a notebook's relative paths start from its folder
    try: proc.process()
    finally: os.chdir(cwd)
    names = next(p.names for p in proc.procs if isinstance(p, show_docs_from_library))
    nb.cells = [c for c in nb.cells if c.get("source") is not None
                and (c.cell_type != "code" or c.source.strip() or c.get("outputs"))]
    return nb, names, module


def relink(nb, here, pages, documented, cfg, src):
    "Links to the nbdev site and backticked notebook names as links between the site's pages; local images copied into `src`"
    site = cfg["doc_host"].rstrip("/") + "/" + cfg["doc_baseurl"].strip("/")
    site = site.rstrip("/") + "/"
    from myst_parser.slugs import github_slugify

    def rel(target): return posixpath.relpath(target, posixpath.dirname(here) or ".")

    def doc_link(m):
        target, anchor = m.group(1), m.group(2)
        if target not in documented: return m.group(0)
        names = {n.lower(): n for n in documented[target]}
        frag = "#" + github_slugify(names[anchor.lower()]) if anchor and anchor.lower() in names else ""
        return f"]({rel(target)}.ipynb{frag})"
    site_link = re.compile(r"\]\(" + re.escape(site) + r"([\w/.-]+?)\.html(?:#([^)\s]+))?\)")

    by_name = {}
    for rel_nb, p in pages.items():
        for key in (Path(rel_nb).stem, rel_nb, "nbs/" + rel_nb, Path(rel_nb).with_suffix("").as_posix()):
            by_name[key] = p
            by_name[key.removesuffix(".ipynb")] = p
    nb_name = re.compile(r"(?<![\[\w])`([\w/.-]+)`(?![\]\w(])")

    def name_link(m):
        p = by_name.get(m.group(1))
        return f"[`{m.group(1)}`]({rel(p)}.ipynb)" if p and p != here else m.group(0)

    def ipynb_link(m):  # a markdown link to a notebook file, by its path in nbs/
        target = posixpath.normpath(posixpath.join(posixpath.dirname(here_rel), m.group(1)))
        return f"]({rel(pages[target])}.ipynb{m.group(2) or ''})" if target in pages else m.group(0)
    here_rel = next((k for k, v in pages.items() if v == here), "index.ipynb")

    def local_image(m):  # an image file beside the notebooks (a path from the notebook's folder): copied into the site
        path = m.group(2)
        if re.match(r"^([a-z]+:|/|#|attachment:)", path): return m.group(0)
        file = (NBS / posixpath.dirname(here_rel) / path).resolve()
        if not file.is_file() or ROOT not in file.parents: return m.group(0)  # Sphinx reports the missing image
        copy = src / "_files" / file.relative_to(ROOT).as_posix()
        copy.parent.mkdir(parents=True, exist_ok=True); shutil.copy2(file, copy)
        return m.group(1) + rel(copy.relative_to(src).as_posix()) + m.group(3)
    image = re.compile(r"""(!\[[^\]]*\]\(|<img\s[^>]*?src=["'])([^)"'\s]+)([)"'])""")

    for c in nb.cells:
        if c.cell_type != "markdown": continue
        out, fence = [], False
        for line in c.source.splitlines():
            if line.lstrip().startswith("```"): fence = not fence
            elif not fence:
                line = site_link.sub(doc_link, line)
                line = re.sub(r"\]\(([^)\s:#]+\.ipynb)(#[^)\s]*)?\)", ipynb_link, line)
                line = nb_name.sub(name_link, line)
                line = image.sub(local_image, line)
            out.append(line)
        c.source = "\n".join(out)


def to_nbformat(nb):
    "execnb's notebook as a plain nbformat one (without the processors' own attributes)"
    cells = []
    for i, c in enumerate(nb.cells):
        d = dict(cell_type=c.cell_type, id=str(c.get("id") or f"cell-{i}"), metadata=dict(c.get("metadata", {})), source=c.source)
        if c.cell_type == "code": d.update(outputs=list(c.get("outputs", [])), execution_count=c.get("execution_count"))
        cells.append(d)
    meta = dict(nb.metadata); meta.setdefault("kernelspec", {"display_name": "Python 3", "language": "python", "name": "python3"})
    return nbformat.from_dict(dict(nbformat=4, nbformat_minor=5, metadata=meta, cells=cells))


def toctrees(order, groups, pages):
    "The home page's hidden tables of contents: the sidebar, in reading order, one caption per run of a group"
    out, runs = [], []
    for rel in order:
        if runs and runs[-1][0] == groups[rel]: runs[-1][1].append(rel)
        else: runs.append((groups[rel], [rel]))
    for caption, rels in runs + [("About", None)]:
        entries = "\n".join(pages[r] for r in rels) if rels else "cite"
        out.append(f"```{{toctree}}\n:hidden:\n:caption: {caption}\n:maxdepth: 1\n\n{entries}\n```")
    return "\n\n".join(out)


def cite_page(cfg):
    "docs/cite.md with settings.ini's values filled in; CITATION.cff must agree with settings.ini"
    year = re.search(r"\d{4}", cfg["copyright"]).group(0)
    values = dict(cfg, year=year, repo_url=cfg["git_url"], site_url=cfg["doc_host"].rstrip("/") + cfg["doc_baseurl"])
    cff = ROOT / "CITATION.cff"
    if cff.exists():
        text = cff.read_text()
        for key, want in (("version", cfg["version"]), ("repository-code", cfg["git_url"])):
            m = re.search(rf"^{key}:\s*\"?([^\"\n]+)\"?\s*$", text, re.M)
            if not m or m.group(1).strip() != want:
                raise BuildError(f"CITATION.cff's {key} is {m.group(1).strip() if m else 'missing'}, settings.ini says {want}")
    return string.Template((ROOT / "docs" / "cite.md").read_text()).substitute(values)


def prepare(src):
    "Write the site's sources into `src`; returns each page's source file (relative to the repository), in reading order"
    src = Path(src); src.mkdir(parents=True, exist_ok=True)
    cfg = settings()
    rels = notebooks()
    index, *_ = process(NBS / "index.ipynb")
    order = reading_order(index, rels)
    pages = {rel: page(rel) for rel in order}
    if len(set(pages.values())) < len(pages): raise BuildError(f"two notebooks have the same page name: {pages}")
    done, documented, groups = {}, {}, {}
    for rel in order:
        nb, names, module = process(NBS / rel)
        done[rel], documented[pages[rel]], groups[rel] = nb, names, group(rel, module)
    for rel, nb in done.items():
        relink(nb, pages[rel], pages, documented, cfg, src)
        out = src / (pages[rel] + ".ipynb"); out.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(to_nbformat(nb), out)
    relink(index, "index", pages, documented, cfg, src)
    index.cells.append(nbformat.v4.new_markdown_cell(toctrees(order, groups, pages)))
    nbformat.write(to_nbformat(index), src / "index.ipynb")
    (src / "cite.md").write_text(cite_page(cfg))
    return {"index": "nbs/index.ipynb", **{pages[r]: f"nbs/{r}" for r in order}, "cite": "docs/cite.md"}


if __name__ == "__main__":
    try: print("\n".join(f"{k}: {v}" for k, v in prepare(sys.argv[1]).items()))
    except BuildError as e: sys.exit(f"docs: {e}")
