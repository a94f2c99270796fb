"""
Speaker recognition on JapaneseVowels
=====================================

Train :class:`sklstm.LSTMSequenceClassifier` on the variable-length, 12-channel
JapaneseVowels utterances, watch the validation curve, and compare the
pooling choices with a grid search.
"""

# %%
# Load the official split: lists of ``(n_timesteps, 12)`` float32 arrays.
from sklstm.datasets import load_japanese_vowels

X_train, X_test, y_train, y_test = load_japanese_vowels(return_X_y=True)
print(len(X_train), "training utterances, lengths",
      min(map(len, X_train)), "to", max(map(len, X_train)))

# %%
# Fit with a stratified validation split and early stopping.
from sklstm import LSTMSequenceClassifier

clf = LSTMSequenceClassifier(
    validation_fraction=0.15, early_stopping=True, random_state=0
).fit(X_train, y_train)
print(f"stopped after {clf.n_iter_} epochs; test accuracy "
      f"{clf.score(X_test, y_test):.3f}")
for row in clf.history_[-3:]:
    print(row["epoch"], round(row["train_loss"], 3), round(row["valid_loss"], 3),
          round(row["valid_acc"], 3))

# %%
# Compare poolings with cross-validation, in parallel.
from sklearn.model_selection import GridSearchCV

grid = GridSearchCV(
    LSTMSequenceClassifier(max_epochs=30, random_state=0),
    {"pooling": ["last", "mean_max"]},
    cv=3,
    n_jobs=2,
).fit(X_train, y_train)
for params, score in zip(grid.cv_results_["params"], grid.cv_results_["mean_test_score"]):
    print(params, round(score, 3))
