"""
Choosing the size and the pooling with a grid search
====================================================

``GridSearchCV`` treats :class:`sklstm.LSTMSequenceClassifier` like any
scikit-learn classifier: every combination of parameters is cross-validated
on variable-length sequences, in parallel worker processes. We compare the
layer width and the pooling on JapaneseVowels and plot the result.
"""

# %%
# A small grid: two widths, three poolings, 3-fold cross-validation
# (18 fits, two at a time).
import numpy as np
from sklearn.model_selection import GridSearchCV

from sklstm import LSTMSequenceClassifier
from sklstm.datasets import load_japanese_vowels

X_train, X_test, y_train, y_test = load_japanese_vowels(return_X_y=True)
grid = {"hidden_size": [16, 64], "pooling": ["last", "mean", "mean_max"]}
search = GridSearchCV(
    LSTMSequenceClassifier(max_epochs=30, random_state=0), grid, cv=3, n_jobs=2
).fit(X_train, y_train)
print("best:", search.best_params_, f"cross-validated accuracy {search.best_score_:.3f}")
print(f"test accuracy of the refitted best model: {search.score(X_test, y_test):.3f}")

# %%
# The result
# ----------
# Mean cross-validated accuracy with its spread over the folds, one line per
# width.
import matplotlib.pyplot as plt

results = search.cv_results_
fig, ax = plt.subplots(figsize=(6, 3.5))
for width in grid["hidden_size"]:
    rows = np.flatnonzero(results["param_hidden_size"] == width)
    ax.errorbar(
        [results["param_pooling"][i] for i in rows],
        results["mean_test_score"][rows],
        yerr=results["std_test_score"][rows],
        marker="o", capsize=4, label=f"hidden_size={width}",
    )
ax.set_xlabel("pooling")
ax.set_ylabel("cross-validated accuracy")
ax.legend()
plt.tight_layout()
