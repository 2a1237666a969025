"""Sphinx configuration of the liqspec site.

Build (from the repository root, after ``pip install ".[docs]"``)::

    sphinx-build -W -n -b html docs docs/_build/html

The site documents the *installed* liqspec (autodoc, viewcode and the traceability data import
it), reads the rules from ``spec/`` (``docs/spec`` is a link to it) and the tests from ``tests/``.
It needs no network: MathJax is bundled by sphinx-mathjax-offline and copied into the site.
"""

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

import liqspec  # noqa: E402  (the installed package; the docs describe what ships)

project = "liqspec"
author = "the liqspec authors"
copyright = "the liqspec authors"
release = version = getattr(liqspec, "__version__", "")

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax 3 served from _static/mathjax: no CDN
    "liqspec_docs",  # rule blocks, traceability matrix, tests, proofs, profiles
    "liqspec_api",  # API reference generated from the installed packages
    "liqspec_commands",  # the tutorial's command output, printed by the installed liqspec
]

liqspec_root = str(DOCS.parent)

root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
templates_path = ["_templates"]

# -n: every cross-reference must resolve. Standard-library and numpy types in signatures have no
# target without intersphinx, which would need the network, so they are the only exceptions.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:(class|obj|data)", r"(collections\.abc|typing|fractions|contextlib|enum|dataclasses|"
                             r"types|random|pathlib|argparse|numpy|np|os|collections|"
                             r"hypothesis)\..*"),
    (r"py:(class|obj|data)", r"(int|str|bool|float|bytes|object|dict|list|tuple|set|frozenset|"
                             r"type|None|Any|Callable|Mapping|Sequence|Iterable|Iterator|"
                             r"Fraction|Path|TypeVar|Enum|IntEnum|Exception|ValueError|"
                             r"KeyError|TypeError|OverflowError|ArithmeticError)"),
    # private helpers and type variables in public signatures are not part of the API
    (r"py:(class|obj)", r"liqspec\..*\._\w+"),
    (r"py:(class|obj)", r"liqspec\.reference\.rules\.F"),
]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_preserve_defaults = True

highlight_language = "python3"
pygments_style = "sphinx"

html_theme = "alabaster"
html_theme_options = {
    "description": "the executable specification of leverage-induced liquidation",
    "page_width": "min(1400px, 96vw)",
    "sidebar_width": "240px",
    "fixed_sidebar": False,
    "show_relbars": True,
}
html_static_path = ["_static"]
html_css_files = ["liqspec.css"]
html_title = "liqspec"
html_show_sourcelink = False
