"""Data files the package reads (gazetteers/, synth/words.json, maps/), found with importlib.resources so
that they travel with the package, editable or installed from a wheel."""
from importlib.resources import files
from pathlib import Path

__all__ = ["resource", "MAPS", "builtin_map"]


def resource(*parts: str) -> Path:
    "The path of a package data file or folder, e.g. `resource('maps', 'meddocan.json')`."
    return Path(str(files(__name__).joinpath(*parts)))


MAPS = ("meddocan", "presidio")  # built-in type maps: resource('maps', NAME + '.json')


def builtin_map(name: str) -> Path:
    "The file of the built-in type map `name` (one of `MAPS`)."
    if name not in MAPS: raise KeyError(name)
    return resource("maps", f"{name}.json")
