"""Check the built site in a real browser: headless Debian Chromium (/usr/bin/chromium, or $CHROMIUM), driven by Playwright.

    python docs/check_site.py SITE_DIR [--screenshots DIR]     (DIR: bench/results/docs by default)

Serves SITE_DIR over http on localhost and, on every page: no console error, no uncaught exception, no failed
request; every image decoded (natural width above zero); every internal link resolves (the file is served with
status 200, and an anchor exists in it); a link to the repository's issues (where a reader reports one). Search for "discrepancy" and "AU-PRO" lists the pages that must have them.
Screenshots of the home page, a reference page and a study page go to DIR. Exits 1, listing each fault, if any.
"""
import argparse, configparser, functools, html.parser, os, shutil, sys, tempfile, threading, time, urllib.error, urllib.parse, urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_cfg = configparser.ConfigParser(delimiters=["="], interpolation=None)
_cfg.read(Path(__file__).resolve().parent.parent / "settings.ini", encoding="utf-8")
ISSUES = _cfg["DEFAULT"]["git_url"].rstrip("/") + "/issues"  # every page links there (the theme's footer)
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")  # Debian's chromium; CHROMIUM=/usr/bin/google-chrome on GitHub's runners
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
# a search term and the pages its results must include (the pages that explain it)
SEARCHES = {"discrepancy": ["localization.html", "tutorials/localization.html"], "AU-PRO": ["metrics.html"]}
# name: (page, what to centre in the view: the n-th match of a CSS selector, or None for the top of the page)
SCREENSHOTS = {"home.png": ("index.html", None), "reference_core.png": ("core.html", None),
               "study_ablation_1_layers.png": ("tutorials/ablation_1_layers.html", ("div.cell_output table", 1))}


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args): pass


class Ids(html.parser.HTMLParser):
    "The ids (and anchor names) of a page"
    def __init__(self):
        super().__init__(); self.ids = set()
    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k == "id" or (tag == "a" and k == "name"): self.ids.add(v)


def serve(site):
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


@functools.lru_cache(maxsize=None)
def fetch(url):
    "status and text of `url`"
    try:
        with urllib.request.urlopen(url, timeout=10) as r: return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e: return e.code, ""


@functools.lru_cache(maxsize=None)
def ids_of(url):
    p = Ids(); p.feed(fetch(url)[1]); return p.ids


def check_links(base, page, hrefs):
    "Faults of the internal links `hrefs` of `page`"
    faults = []
    for href in sorted(set(hrefs)):
        if not href.startswith(base): continue  # an external link: not fetched (no network here)
        target, _, frag = href.partition("#")
        target = target.split("?")[0]
        if target.endswith("/"): target += "index.html"
        status, _ = fetch(target)
        if status != 200: faults.append(f"{page}: link to {href[len(base):]} gives HTTP {status}"); continue
        if frag and target.endswith(".html") and urllib.parse.unquote(frag) not in ids_of(target):
            faults.append(f"{page}: link to {href[len(base):]}: no anchor '{frag}' in {target[len(base):]}")
    return faults


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("site", type=Path)
    ap.add_argument("--screenshots", type=Path, default=Path(__file__).resolve().parent.parent / "bench" / "results" / "docs",
                    help="folder for the screenshots (default: bench/results/docs, which the repository keeps)")
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright
    t0 = time.time()
    site = a.site.resolve()
    shots = a.screenshots.resolve(); shots.mkdir(parents=True, exist_ok=True)
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html") if not p.relative_to(site).parts[0].startswith("_"))
    if not pages: sys.exit(f"no pages in {site}")
    server, base = serve(site)
    faults, n_img, n_links = [], 0, 0
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        with sync_playwright() as pw:
            ctx = pw.chromium.launch_persistent_context(profile, executable_path=CHROMIUM, headless=True, args=ARGS,
                                                        viewport={"width": 1280, "height": 860})
            tab = ctx.new_page()
            events = []
            tab.on("console", lambda m: m.type == "error" and events.append(f"console error: {m.text}"))
            tab.on("pageerror", lambda e: events.append(f"uncaught exception: {e}"))
            tab.on("requestfailed", lambda r: events.append(f"request failed: {r.url} ({r.failure})"))
            tab.on("response", lambda r: r.status >= 400 and events.append(f"HTTP {r.status}: {r.url}"))
            for page in pages:
                events.clear()
                tab.goto(base + page, wait_until="load")
                imgs = tab.evaluate("""Promise.all(Array.from(document.images).map(async i => {
                    try { await i.decode(); } catch (e) {}
                    return [i.getAttribute('src'), i.naturalWidth]; }))""")
                hrefs = tab.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
                n_img += len(imgs); n_links += len([h for h in hrefs if h.startswith(base)])
                faults += [f"{page}: {e}" for e in events]
                faults += [f"{page}: image {src} not decoded (natural width {w})" for src, w in imgs if not w]
                faults += check_links(base, page, hrefs)
                if ISSUES not in hrefs: faults.append(f"{page}: no link to report an issue ({ISSUES})")
            for name, (page, at) in SCREENSHOTS.items():  # before the searches, which leave their terms highlighted
                tab.goto(base + page, wait_until="load"); tab.wait_for_load_state("networkidle")
                if at:
                    found = tab.locator(at[0])
                    if found.count() > at[1]: found.nth(at[1]).evaluate("e => { e.scrollIntoView({block: 'center'}); }")
                    else: faults.append(f"{page}: no match {at[1]} of {at[0]} for the screenshot")
                    tab.wait_for_timeout(300)
                tab.screenshot(path=str(shots / name))
            for term, want in SEARCHES.items():
                events.clear()
                tab.goto(base + "search.html?q=" + urllib.parse.quote(term), wait_until="load")
                try:
                    tab.wait_for_function("""() => { const s = document.querySelector('#search-results .search-summary');
                        return s && /found|did not match/i.test(s.textContent); }""", timeout=20000)
                except Exception as e: faults.append(f"search for {term!r}: no results shown ({e.__class__.__name__})"); continue
                tab.wait_for_load_state("networkidle")  # the snippets' page fetches end here, not cut off by the next search
                found = tab.evaluate("Array.from(document.querySelectorAll('#search-results ul.search li > a:first-of-type')).map(a => a.href)")
                found = sorted({urllib.parse.urlsplit(h).path.lstrip("/") for h in found})
                missing = [p for p in want if p not in found]
                print(f"search {term!r}: {len(found)} pages: {', '.join(found)}")
                if missing: faults.append(f"search for {term!r} does not list {', '.join(missing)}")
                faults += [f"search for {term!r}: {e}" for e in events]
            ctx.close()
    finally:
        server.shutdown(); shutil.rmtree(profile, ignore_errors=True)
    print(f"browser check: {len(pages)} pages, {n_img} images, {n_links} internal links, screenshots in {shots}, "
          f"{time.time() - t0:.1f} s")
    for f in faults: print("FAIL", f)
    print(f"browser check {'failed: %d faults' % len(faults) if faults else 'passed'}")
    sys.exit(1 if faults else 0)


if __name__ == "__main__":
    main()
