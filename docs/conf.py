"""Sphinx configuration of the sklstm documentation (``make docs``)."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))
import sklstm  # noqa: E402

project = "sklstm"
author = "The sklstm developers"
copyright = "2026, the sklstm developers"
release = version = sklstm.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
templates_path = ["_templates"]

autosummary_generate = True
autodoc_default_options = {"members": True}


def _skip_metadata_routing(app, what, name, obj, skip, options):
    # scikit-learn's generated set_*_request methods and get_metadata_routing
    # document its metadata routing, with links into scikit-learn's site.
    if name == "get_metadata_routing" or (name.startswith("set_") and name.endswith("_request")):
        return True
    return skip


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_routing)


numpydoc_show_class_members = False
numpydoc_xref_param_type = False

myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

html_theme = "pydata_sphinx_theme"
html_title = f"sklstm {release}"
html_theme_options = {
    "navbar_end": ["navbar-icon-links"],
    "secondary_sidebar_items": ["page-toc"],
    "show_prev_next": False,
}
html_sidebars = {"**": []}  # the pages are short; the navbar has them all

# The gallery runs every examples/plot_*.py (about a minute on 2 cores);
# ``make docs-noplot`` (-D plot_gallery=0) builds it without running them.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": "/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("sklstm",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"sklstm": None},
}

os.environ.setdefault("MPLBACKEND", "Agg")
