"""
Speaker recognition on JapaneseVowels
=====================================

Train :class:`sklstm.LSTMSequenceClassifier` on the variable-length, 12-channel
JapaneseVowels utterances (9 speakers), follow its learning curves, and see
which speakers it confuses on the official test set.
"""

# %%
# Load the official split: lists of ``(n_timesteps, 12)`` float32 arrays.
from sklstm.datasets import load_japanese_vowels

X_train, X_test, y_train, y_test = load_japanese_vowels(return_X_y=True)
print(len(X_train), "training and", len(X_test), "test utterances, lengths",
      min(map(len, X_train + X_test)), "to", max(map(len, X_train + X_test)))

# %%
# Fit with a stratified validation split and early stopping: training ends
# once the validation loss has not improved for 10 epochs, and the weights of
# the best epoch are kept.
from sklstm import LSTMSequenceClassifier

clf = LSTMSequenceClassifier(
    validation_fraction=0.15, early_stopping=True, random_state=0
).fit(X_train, y_train)
print(f"stopped after {clf.n_iter_} epochs; test accuracy "
      f"{clf.score(X_test, y_test):.3f}")

# %%
# Learning curves
# ---------------
# :func:`sklstm.plotting.plot_history` draws ``history_``: the training and
# validation loss, the validation accuracy, and the epoch whose weights the
# model kept.
import matplotlib.pyplot as plt

from sklstm.plotting import plot_history

plot_history(clf)
plt.tight_layout()

# %%
# Confusion matrix
# ----------------
# Rows are the true speakers of the 370 test utterances, columns the
# predicted ones; scikit-learn's display works as for any classifier.
from sklearn.metrics import ConfusionMatrixDisplay

ConfusionMatrixDisplay.from_estimator(clf, X_test, y_test, colorbar=False)
plt.title("JapaneseVowels test set")
plt.tight_layout()
