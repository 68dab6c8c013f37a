"""Figures for the notebooks: data lengths, span types, attention, the aligned model's decisions and
decoder comparisons."""
