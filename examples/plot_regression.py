"""
Regression: predicting real values from sequences
=================================================

:class:`sklstm.LSTMSequenceRegressor` is the classifier's network with a
linear output per target. Here each sequence is a noisy sum of two sine
waves of different frequencies, and the two targets are their amplitudes:
the network has to tell the frequencies apart, which needs the order of the
time steps.
"""

# %%
# Generate the data and fit, holding out a quarter for testing.
from sklearn.model_selection import train_test_split

from sklstm import LSTMSequenceRegressor
from sklstm.datasets import make_sequence_regression

X, y = make_sequence_regression(n_samples=600, n_targets=2, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
reg = LSTMSequenceRegressor(hidden_size=32, max_epochs=60, random_state=0)
reg.fit(X_train, y_train)
print(f"R^2 on held-out sequences: {reg.score(X_test, y_test):.3f}")

# %%
# Predicted against true amplitudes, one panel per target.
import matplotlib.pyplot as plt
from sklearn.metrics import r2_score

y_pred = reg.predict(X_test)
fig, axes = plt.subplots(1, 2, figsize=(8, 3.8), sharey=True)
for j, ax in enumerate(axes):
    ax.scatter(y_test[:, j], y_pred[:, j], s=10, alpha=0.6)
    ax.plot([0, 1], [0, 1], color="gray", linestyle=":")
    ax.set_title(f"amplitude {j + 1}: R^2 = {r2_score(y_test[:, j], y_pred[:, j]):.2f}")
    ax.set_xlabel("true")
axes[0].set_ylabel("predicted")
plt.tight_layout()

# %%
# The step order matters: with the time steps of the test sequences shuffled,
# the same model loses most of what it learned.
import numpy as np

shuffled = X_test[:, np.random.default_rng(0).permutation(X_test.shape[1])]
print(f"R^2 with shuffled steps: {reg.score(shuffled, y_test):.3f}")
