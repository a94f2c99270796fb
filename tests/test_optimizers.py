"""The optimizers: torch's fused step, the same model as the default step."""

import numpy as np
import pytest
import torch

import sklstm._base
import sklstm._data
from sklstm import LSTMSequenceClassifier

# -- the optimizer: torch's fused step ----------------------------------------


def _fused(clf):
    return bool(clf.net_.optimizer_.param_groups[0].get("fused"))


def test_builtin_optimizers_take_the_fused_step_and_others_are_left_alone(seq3d):
    X, y = seq3d
    for name in ("adam", "adamw", "sgd"):
        assert _fused(LSTMSequenceClassifier(optimizer=name, max_epochs=1).fit(X, y)), name
    assert _fused(LSTMSequenceClassifier(optimizer=torch.optim.Adam, max_epochs=1).fit(X, y))
    # No fused RMSprop in torch; the user's own optimizer class is built as given.
    assert not _fused(LSTMSequenceClassifier(optimizer="rmsprop", max_epochs=1).fit(X, y))

    class OwnAdam(torch.optim.Adam):
        pass

    own = LSTMSequenceClassifier(optimizer=OwnAdam, max_epochs=1).fit(X, y)
    assert isinstance(own.net_.optimizer_, OwnAdam) and not _fused(own)


@pytest.mark.parametrize("params", [
    dict(optimizer="adam"),
    dict(optimizer="adamw", weight_decay=0.01),
    dict(optimizer="sgd", weight_decay=0.01),
    dict(optimizer="adam", gradient_clip=0.1, lr_schedule="constant"),
])
def test_fused_step_trains_the_same_model_as_the_default_step(seq3d, monkeypatch, params):
    """In float64 the two steps agree to rounding, so the trained models do too."""
    X, y = seq3d
    params = dict(params, hidden_size=8, max_epochs=5, dtype="float64", random_state=0)
    fused = LSTMSequenceClassifier(**params).fit(X, y)
    monkeypatch.setattr(sklstm._base, "_has_fused_kernel", lambda optimizer, device: False)
    plain = LSTMSequenceClassifier(**params).fit(X, y)
    assert _fused(fused) and not _fused(plain)
    for a, b in zip(fused.net_.module_.parameters(), plain.net_.module_.parameters()):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=0, atol=1e-9)
    # Parameters a 1e-9 apart give probabilities a few 1e-12 apart.
    np.testing.assert_allclose(fused.predict_proba(X), plain.predict_proba(X), rtol=0, atol=1e-10)


def test_optimizer_state_loaded_elsewhere_keeps_this_machines_step(seq3d, monkeypatch):
    """A model saved with the fused step continues with the unfused one where torch lacks it."""
    X, y = seq3d
    clf = LSTMSequenceClassifier(hidden_size=4, max_epochs=2, random_state=0).fit(X, y)
    state = clf.net_.optimizer_.state_dict()
    assert state["param_groups"][0]["fused"]
    monkeypatch.setattr(sklstm._base, "_has_fused_kernel", lambda optimizer, device: False)
    clf._restore_net(clf.net_.module_.state_dict(), state, clf.history_, "cpu")
    assert not _fused(clf)
    assert clf.net_.optimizer_.state_dict()["state"][0]["exp_avg"].abs().sum() > 0  # moments kept
    clf.partial_fit(X, y)  # and training goes on with the unfused step
    assert not _fused(clf) and clf.n_iter_ == 3
