"""The docs: the site builds with --strict (broken links and anchors fail), the README stays short
and its links resolve, and the generated options page holds every option of every command."""
import contextlib
import importlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from seq2seq.commands.reference import COMMANDS, command_parser, options_markdown

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    "The site, built with `mkdocs build --strict` into a temporary folder (nothing is fetched)."
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    res = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    return res, out


@pytest.mark.slow
def test_site_builds_strict(site):
    res, out = site
    assert res.returncode == 0, f"mkdocs build --strict failed:\n{res.stderr}"
    for page in ("index.html", "experiments/index.html", "benchmarks/index.html", "reference/options/index.html"):
        assert (out / page).is_file(), page
    assert (out / "figures" / "cells.png").is_file() and (out / "review.png").is_file()


def test_site_fetches_nothing():
    "No font service, no plugin that downloads at build time (material's search runs offline)."
    import yaml
    cfg = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert cfg["theme"]["name"] == "material" and cfg["theme"]["font"] is False
    plugins = [p if isinstance(p, str) else next(iter(p)) for p in cfg.get("plugins", [])]
    assert set(plugins) <= {"search"}, plugins
    assert cfg["strict"] is True and cfg["docs_dir"] == "docs"


def test_readme_is_short():
    n = len(README.read_text(encoding="utf-8").splitlines())
    assert n <= 300, f"README.md has {n} lines (at most 300: the depth goes to docs/)"


def _relative_links(text: str):
    "Targets of the Markdown links and images of `text` that are not URLs or in-page anchors."
    for target in re.findall(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"): continue
        yield target.split("#", 1)[0]


def test_readme_links_exist():
    text = README.read_text(encoding="utf-8")
    links = list(_relative_links(text))
    assert links, "the README links to the docs pages"
    missing = [t for t in links if not (ROOT / t).exists()]
    assert not missing, f"README.md links to missing files: {missing}"


def test_relative_link_finder():
    "The link check itself: finds relative targets, skips URLs and anchors."
    text = "[a](docs/x.md#part) ![b](docs/y.png) [c](https://example.org/z.md) [d](#here)"
    assert list(_relative_links(text)) == ["docs/x.md", "docs/y.png"]


def _help_option_strings(module_name: str) -> set:
    "The option strings that the command's real `--help` prints in its option list."
    mod = importlib.import_module(module_name)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), pytest.raises(SystemExit):
        mod.parse_args(["--help"])
    found = set()
    for line in buf.getvalue().splitlines():
        if re.match(r"  -", line):  # an option's line; its help's continuation lines are indented further
            invocation = re.split(r"\s{2,}", line.strip())[0]  # "--format FORMAT, -f FORMAT", not the help after it
            found.update(tok.rstrip(",") for tok in invocation.split() if tok.startswith("-"))
    return found


@pytest.mark.parametrize("module_name", [m for m, _ in COMMANDS])
def test_options_page_has_every_option(module_name):
    parser = command_parser(module_name)
    options = {s for a in parser._actions for s in a.option_strings}
    assert "--help" in options and len(options) > 5
    assert _help_option_strings(module_name) == options  # the parser the page reads is the one --help uses
    page = options_markdown()
    flags = {s for cell in re.findall(r"^\| `([^`]+)` \|", page, re.M) for s in re.split(r"[ ,]+", cell)}
    missing = sorted(options - flags)
    assert not missing, f"{parser.prog}: options missing from the options page: {missing}"
    assert f"## `{parser.prog}`" in page


@pytest.mark.slow
def test_built_options_page_has_every_option(site):
    "The hook really put the generated page into the site."
    res, out = site
    assert res.returncode == 0, res.stderr
    html = (out / "reference" / "options" / "index.html").read_text(encoding="utf-8")
    cells = re.findall(r"<tr>\s*<td><code>([^<]+)</code></td>", html)  # each row's flag column
    flags = {s for cell in cells for s in re.split(r"[ ,]+", cell)}
    options = {s for m, _ in COMMANDS for a in command_parser(m)._actions for s in a.option_strings}
    assert not sorted(options - flags), sorted(options - flags)


def test_options_page_is_not_committed():
    assert not (ROOT / "docs" / "reference" / "options.md").exists()


@pytest.mark.slow
def test_built_options_page_says_what_help_says(site):
    "Each row's meaning, as the browser shows it, holds the option's help text as `--help` prints it."
    import html as htmllib
    from seq2seq.commands.reference import _help
    res, out = site
    assert res.returncode == 0, res.stderr
    page = (out / "reference" / "options" / "index.html").read_text(encoding="utf-8")
    rows = re.findall(r"<tr>\s*<td><code>([^<]+)</code></td>\s*<td>.*?</td>\s*<td>(.*?)</td>\s*</tr>", page, re.S)
    shown = {}
    for flag, meaning in rows:
        shown.setdefault(htmllib.unescape(flag), []).append(" ".join(htmllib.unescape(re.sub(r"<[^>]+>", "", meaning)).split()))
    checked = 0
    for module_name, _ in COMMANDS:
        parser = command_parser(module_name)
        for a in parser._actions:
            text = " ".join(_help(a, parser.prog).split())
            if not text or not a.option_strings: continue
            cells = [m for f, ms in shown.items() if a.option_strings[0] in re.split(r"[ ,]+", f) for m in ms]
            assert any(text in m for m in cells), (a.option_strings, text, cells)
            checked += 1
    assert checked > 50
