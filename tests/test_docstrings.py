"""The estimators' parameter docs: complete, true to the signatures, and not drifting apart."""

import ast
import inspect

import pytest
from numpydoc.docscrape import ClassDoc

from sklstm import (
    LSTMSequenceClassifier,
    LSTMSequenceRegressor,
    SequenceScaler,
    SlidingWindowTransformer,
)

# Shared parameters whose text differs on purpose, and why.
DIFFERENT_ON_PURPOSE = {
    # The classifier's split is stratified and reports an accuracy too; the
    # regressor's also serves early_stopping="auto", which only it has; its
    # "auto" epoch budget is at least twice the classifier's.
    "validation_fraction",
    "early_stopping",
    "max_epochs",
}


def parameter_docs(cls):
    return {p.name: (p.type, " ".join(p.desc)) for p in ClassDoc(cls)["Parameters"]}


@pytest.mark.parametrize("cls", [
    LSTMSequenceClassifier, LSTMSequenceRegressor, SequenceScaler, SlidingWindowTransformer,
])
def test_every_parameter_is_documented_with_its_real_default(cls):
    docs = parameter_docs(cls)
    signature = inspect.signature(cls).parameters
    assert list(docs) == list(signature)  # all of them, in the signature's order
    for name, parameter in signature.items():
        written = docs[name][0].rpartition("default=")[2]
        assert ast.literal_eval(written) == parameter.default, (name, written)


def test_shared_parameters_read_the_same_in_both_estimators():
    classifier = parameter_docs(LSTMSequenceClassifier)
    regressor = parameter_docs(LSTMSequenceRegressor)
    shared = set(classifier) & set(regressor)
    assert len(shared) >= 20
    for name in shared - DIFFERENT_ON_PURPOSE:
        # The type lines differ only in the default, which the test above checks.
        assert classifier[name][0].split("default=")[0] == regressor[name][0].split("default=")[0]
        assert classifier[name][1] == regressor[name][1], name


def notes(cls):
    return "\n".join(ClassDoc(cls)["Notes"]).split("\n\n")


def test_notes_on_inputs_and_cpu_settings_read_the_same_in_both_estimators():
    # The first two paragraphs of Notes describe the base: the accepted
    # inputs and the CPU settings of a fit.
    classifier, regressor = notes(LSTMSequenceClassifier), notes(LSTMSequenceRegressor)
    assert classifier[:2] == regressor[:2]
    assert "padded per batch" in classifier[0] and "denormal" in classifier[1]
    # Each also says how sample weights enter the loss.
    assert any("weighted mean of its" in p for p in classifier)
    assert any("weighted mean of its" in p for p in regressor)
