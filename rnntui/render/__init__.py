"""Terminal drawing without Textual: numpy arrays in, rich ``Text`` out.

Used by the Textual widgets (``rnntui.app.widgets.heatmap``) and by the
command line (``rnntui conv``), so a map looks the same in both.  Imports
numpy and rich only: no torch, no Textual.
"""
