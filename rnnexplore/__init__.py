"""rnnexplore: interactive exploration of what recurrent and feed-forward networks learn.

Computation lives in plain modules (``models``, ``cycles``, ``bifurcation``, ``training``,
``featurequality``, ``parallel``); ``rnnexplore.widgets`` holds thin ipywidgets/ipympl layers.
Importing the package never imports torch, ipywidgets or matplotlib.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
