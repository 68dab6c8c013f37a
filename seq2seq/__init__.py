"""Restore inline {{TAG}}..{{/TAG}} annotations with a fastai v1 seq2seq model.

Submodules are imported on demand so that light ones (tags, convert) do not pull in
fastai; everything that touches fastai imports `seq2seq.compat` first.
"""
__version__ = "0.1.0"
