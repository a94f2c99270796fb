"""The callbacks sklstm adds to its nets."""

import numpy as np
from skorch.callbacks import Callback

from sklstm import LSTMSequenceClassifier


class KeepValid(Callback):
    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        self.valid_ = dataset_valid


def test_valid_acc_is_the_accuracy_on_the_validation_split(ragged):
    X, y = ragged
    clf = LSTMSequenceClassifier(
        hidden_size=8, max_epochs=3, validation_fraction=0.25, random_state=0,
        callbacks=[("keep", KeepValid())],
    ).fit(X, y)
    valid = dict(clf.net_.callbacks_)["keep"].valid_
    predicted = clf.net_.logits(valid).argmax(dim=1).numpy()
    expected = np.mean(predicted == valid.y[valid.index])
    assert clf.history_[-1, "valid_acc"] == expected
    assert len(valid) == 12 and 0 < expected < 1  # a proportion of 12, not a constant


def test_no_validation_split_records_no_valid_acc(seq3d):
    X, y = seq3d
    clf = LSTMSequenceClassifier(hidden_size=4, max_epochs=2, random_state=0).fit(X, y)
    assert all("valid_acc" not in row for row in clf.history_)
