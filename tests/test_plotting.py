"""sklstm.plotting.plot_history draws the history it is given."""

import matplotlib
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from sklstm import LSTMSequenceClassifier
from sklstm.plotting import plot_history

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def lines(ax):
    return {line.get_label(): line for line in ax.get_lines()}


def test_learning_curves_show_the_history(seq3d):
    X, y = seq3d
    clf = LSTMSequenceClassifier(8, max_epochs=4, validation_fraction=0.25, random_state=0).fit(X, y)
    loss_ax, acc_ax = plot_history(clf)
    drawn = lines(loss_ax)
    np.testing.assert_array_equal(drawn["train"].get_ydata(), clf.history_[:, "train_loss"])
    np.testing.assert_array_equal(drawn["validation"].get_ydata(), clf.history_[:, "valid_loss"])
    np.testing.assert_array_equal(drawn["train"].get_xdata(), [1, 2, 3, 4])
    np.testing.assert_array_equal(lines(acc_ax)["validation"].get_ydata(), clf.history_[:, "valid_acc"])
    best = 1 + int(np.argmin(clf.history_[:, "valid_loss"]))
    assert drawn["lowest validation loss"].get_xdata()[0] == best
    assert (loss_ax.get_xlabel(), loss_ax.get_ylabel(), acc_ax.get_ylabel()) == ("epoch", "loss", "accuracy")


def test_without_validation_only_the_training_loss_is_drawn_on_given_axes(seq3d):
    X, y = seq3d
    clf = LSTMSequenceClassifier(8, max_epochs=2, random_state=0).fit(X, y)
    _, ax = plt.subplots()
    (drawn_ax,) = plot_history(clf.history_, axes=ax)
    assert drawn_ax is ax and list(lines(ax)) == ["train"]
    with pytest.raises(ValueError, match="1 panel"):
        plot_history(clf, axes=plt.subplots(1, 2)[1])


def test_unfitted_model_is_refused():
    with pytest.raises(NotFittedError, match="call fit"):
        plot_history(LSTMSequenceClassifier())


def test_regressor_history_has_a_loss_panel_only():
    from sklstm import LSTMSequenceRegressor
    from sklstm.datasets import make_sequence_regression

    X, y = make_sequence_regression(n_samples=40, random_state=0)
    reg = LSTMSequenceRegressor(4, max_epochs=3, validation_fraction=0.25).fit(X, y)
    (ax,) = plot_history(reg)
    assert ax.get_ylabel() == "loss"
    lines = {line.get_label(): line.get_ydata() for line in ax.get_lines()}
    np.testing.assert_allclose(lines["validation"], reg.history_[:, "valid_loss"])
    plt.close("all")
