"""The main job: train on the bundled JapaneseVowels data and report.

Run with ``python -m sklstm``. Trains ``LSTMSequenceClassifier`` with its
default parameters on the official training split (printing one line per
epoch), then prints the test accuracy and a classification report.
"""

import time

from sklearn.metrics import accuracy_score, classification_report

from . import LSTMSequenceClassifier, __version__
from .datasets import load_japanese_vowels


def main():
    data = load_japanese_vowels()
    print(
        f"sklstm {__version__}: JapaneseVowels, {len(data.X_train)} training and "
        f"{len(data.X_test)} test utterances of 9 speakers, 12 channels, "
        "7 to 29 steps\n"
    )
    clf = LSTMSequenceClassifier(random_state=0, verbose=1)
    start = time.perf_counter()
    clf.fit(data.X_train, data.y_train)
    seconds = time.perf_counter() - start
    y_pred = clf.predict(data.X_test)
    print(f"\ntrained {clf.n_iter_} epochs in {seconds:.1f} s")
    print(f"test accuracy: {accuracy_score(data.y_test, y_pred):.4f}\n")
    print(classification_report(data.y_test, y_pred, digits=3))


if __name__ == "__main__":
    main()
