"""
Which coefficients and moments identify a speaker
=================================================

Explain a :class:`sklstm.LSTMSequenceClassifier` trained on JapaneseVowels
(9 speakers, 12 LPC cepstrum coefficients per frame, 7 to 29 frames): which
frames and coefficients drove one prediction (integrated gradients), and how
much each coefficient, and each stretch of an utterance, matters to the
test accuracy (permutation importance). Neither of scikit-learn's own tools
takes sequences.
"""

# %%
# Fit the default classifier on the official training split.
from sklstm import LSTMSequenceClassifier
from sklstm.datasets import load_japanese_vowels

X_train, X_test, y_train, y_test = load_japanese_vowels(return_X_y=True)
clf = LSTMSequenceClassifier(random_state=0).fit(X_train, y_train)
print(f"test accuracy {clf.score(X_test, y_test):.3f}")

# %%
# One prediction, step by step
# ----------------------------
# :func:`sklstm.inspection.integrated_gradients` attributes the predicted
# speaker's probability to each frame and coefficient of the utterance; the
# attributions add up to that probability's gain over an all-zeros input.
import matplotlib.pyplot as plt
import numpy as np

from sklstm.inspection import integrated_gradients
from sklstm.plotting import plot_attributions

attributions = integrated_gradients(clf, X_test[:1])[0]
speaker = clf.predict(X_test[:1])[0]
print(f"predicted speaker {speaker}; attributions add up to {attributions.sum():.3f}")
ax = plot_attributions(attributions, feature_names=[f"LPC {i + 1}" for i in range(12)])
ax.set_title(f"Test utterance 0, speaker {speaker}")
plt.tight_layout()

# %%
# Over the test set: coefficients and stretches of time
# -----------------------------------------------------
# :func:`sklstm.inspection.permutation_importance` shuffles one coefficient
# (or one fifth of each utterance's frames) between the test utterances and
# reports how much the accuracy drops. Utterances of other lengths are
# resampled to fit.
from sklstm.inspection import permutation_importance
from sklstm.plotting import plot_importances

by_coefficient = permutation_importance(clf, X_test, y_test, n_repeats=3, random_state=0)
by_coefficient.names = np.array([f"LPC {i + 1}" for i in range(12)])
by_time = permutation_importance(
    clf, X_test, y_test, by="segment", n_segments=5, n_repeats=3, random_state=0
)
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
plot_importances(by_coefficient, ax=left)
left.set_title("by coefficient")
plot_importances(by_time, ax=right)
right.set_title("by fifth of the utterance")
plt.tight_layout()

# %%
# The first coefficients (the spectrum's overall slope and shape) carry most
# of the speaker; the last few carry almost nothing. In time, the starts
# and ends of the utterances matter more than their middles.
