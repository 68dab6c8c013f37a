"""Weak supervision: labelling functions (`from seq2seq.weak import labelling_function`), the built-in
ones, label models (skweak's HMM, majority vote) and the weak-label job."""

from .functions import LabellingFunction, labelling_function

__all__ = ["labelling_function", "LabellingFunction"]
