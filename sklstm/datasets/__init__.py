"""Data sets: the bundled JapaneseVowels and a synthetic generator."""

from ._japanese_vowels import load_japanese_vowels
from ._synthetic import make_sequence_classification

__all__ = ["load_japanese_vowels", "make_sequence_classification"]
