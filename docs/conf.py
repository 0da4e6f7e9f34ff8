"""Sphinx configuration of the rnnexplore documentation (``make docs``).

Notebook pages are the executed copies that the notebook tests leave behind: ``docs/prepare.py``
copies them into ``docs/notebooks/`` (and writes the gallery) before Sphinx runs, so myst-nb
never executes anything here. The API reference is generated from the facade's ``__all__``
(``docs/api_pages.py``), so a name added to the facade is documented without editing the docs.
Docstrings' references name objects where they are defined; ``docs/xref.py`` points them to the
public pages. ``sphinx -n`` (nitpicky) lists what still does not resolve.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS))

import rnnexplore  # noqa: E402

import api_pages  # noqa: E402

api_pages.write(DOCS / "api")  # before autosummary looks for the names it must generate

project = "rnnexplore"
author = "The rnnexplore developers"
copyright = "2026, The rnnexplore developers"
version = release = rnnexplore.__version__

extensions = [
    "myst_nb",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax served from _static/, so the site works without internet
    "xref",  # docstrings' references to defining modules -> the documented public names (docs/xref.py)
]

exclude_patterns = ["_build", "README.md", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
templates_path = ["_templates"]
html_static_path = ["_static"]
html_css_files = ["rnnexplore.css"]

# ----------------------------------------------------------------------------- notebooks (myst-nb)
nb_execution_mode = "off"  # outputs come from the test suite's papermill runs (docs/prepare.py)
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "substitution"]
myst_substitutions = {"release": release}
myst_heading_anchors = 3
# widget views need a live kernel; the static site shows their text or image form instead
nb_mime_priority_overrides = [
    ("html", "application/vnd.jupyter.widget-view+json", None),
    ("html", "application/vnd.jupyter.widget-state+json", None),
]
suppress_warnings = ["mystnb.unknown_mime_type"]

# ----------------------------------------------------------------------------- API (numpydoc)
autosummary_generate = True
autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True

# ----------------------------------------------------------------------------- HTML
html_theme = "pydata_sphinx_theme"
html_title = f"rnnexplore {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "header_links_before_dropdown": 4,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_show_sourcelink = False
html_copy_source = False
