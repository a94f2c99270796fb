"""Data sets: the bundled JapaneseVowels and Seattle weather, and generators."""

from ._japanese_vowels import load_japanese_vowels
from ._seattle_weather import load_seattle_weather
from ._synthetic import make_sequence_classification, make_sequence_regression

__all__ = [
    "load_japanese_vowels",
    "load_seattle_weather",
    "make_sequence_classification",
    "make_sequence_regression",
]
