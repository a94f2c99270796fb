"""Convert the UCR/UEA JapaneseVowels .ts files into the bundled .npz file.

Usage: python tools/convert_japanese_vowels.py [SOURCE_DIR]

SOURCE_DIR holds JapaneseVowels_TRAIN.ts and JapaneseVowels_TEST.ts
(default: ../shared/data/JapaneseVowels). Each data line holds the channels
separated by ':' (each a comma-separated series), then the class label.
The output stores, per split, all time steps concatenated (float32), the
sequence lengths and the labels; it loads without pickle.
"""

import sys
from pathlib import Path

import numpy as np

from sklstm.datasets._ts import read_ts

OUT = Path(__file__).resolve().parents[1] / "sklstm" / "datasets" / "data" / "japanese_vowels.npz"


def main(source):
    arrays = {}
    for split in ("train", "test"):
        seqs, labels = read_ts((Path(source) / f"JapaneseVowels_{split.upper()}.ts").read_text())
        labels = labels.astype(np.int64)
        arrays[f"{split}_values"] = np.concatenate(seqs).astype(np.float32)
        arrays[f"{split}_lengths"] = np.array([len(s) for s in seqs], dtype=np.int64)
        arrays[f"{split}_labels"] = labels
        print(f"{split}: {len(seqs)} sequences, lengths {min(map(len, seqs))}-"
              f"{max(map(len, seqs))}, classes {sorted(set(labels.tolist()))}")
    np.savez_compressed(OUT, **arrays)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "data" / "JapaneseVowels")
