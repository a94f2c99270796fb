"""The set_output API of sklstm's transformers."""

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklstm import LSTMSequenceClassifier, SequenceScaler, SlidingWindowTransformer

RNG = np.random.default_rng(0)
TABLE = pd.DataFrame(RNG.normal(size=(12, 5)), columns=[f"t{i}" for i in range(5)],
                     index=np.arange(100, 112))
SERIES = RNG.normal(size=(40, 2))


@pytest.mark.parametrize("Transformer", [SequenceScaler, SlidingWindowTransformer])
def test_set_output_default_works_in_any_pipeline(Transformer):
    step = Transformer() if Transformer is SequenceScaler else Transformer(4)
    assert step.set_output(transform="default") is step
    pipe = make_pipeline(
        SlidingWindowTransformer(4), SequenceScaler(),
        LSTMSequenceClassifier(hidden_size=4, conv_channels=None, max_epochs=1, random_state=0),
    ).set_output(transform="default")
    labels = (SERIES[:, 0] > 0).astype(int)
    assert pipe.fit(SERIES, labels).predict(SERIES).shape == (40,)


def test_a_table_becomes_a_dataframe_with_its_names_and_index():
    scaler = SequenceScaler().set_output(transform="pandas")
    out = scaler.fit_transform(TABLE)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(TABLE.columns)
    assert list(out.index) == list(TABLE.index)
    np.testing.assert_allclose(out.to_numpy(), SequenceScaler().fit_transform(TABLE))
    with sklearn.config_context(transform_output="pandas"):
        assert isinstance(SequenceScaler().fit_transform(TABLE), pd.DataFrame)
        # A Pipeline of table steps stays a table.
        pipe = make_pipeline(StandardScaler(), SequenceScaler())
        assert list(pipe.fit_transform(TABLE).columns) == list(TABLE.columns)


@pytest.mark.parametrize(
    "make, X, found",
    [
        (SequenceScaler, RNG.normal(size=(6, 5, 2)), r"a 3D array of shape \(6, 5, 2\)"),
        (SequenceScaler, [RNG.normal(size=(n, 2)) for n in (3, 4)], "a list of 2 sequences"),
        (lambda: SlidingWindowTransformer(4), SERIES, r"a 3D array of shape \(40, 4, 2\)"),
    ],
)
@pytest.mark.parametrize("container", ["pandas", "polars"])
def test_sequences_refuse_a_table_output_and_say_why(make, X, found, container):
    message = found + f".*cannot be a {container} DataFrame: a DataFrame is a 2D table.*set_output"
    with pytest.raises(ValueError, match=message):
        make().set_output(transform=container).fit_transform(X)
    with sklearn.config_context(transform_output=container):
        with pytest.raises(ValueError, match=message):
            make().fit_transform(X)
        # The step's own "default" overrides the global choice.
        out = make().set_output(transform="default").fit_transform(X)
        assert isinstance(out, (np.ndarray, list))


def test_feature_names_out_are_the_features_of_each_step():
    names = np.array(["accel", "gyro"], dtype=object)
    frame = pd.DataFrame(SERIES, columns=names)
    windows = SlidingWindowTransformer(4).fit(frame)
    assert list(windows.get_feature_names_out()) == ["accel", "gyro"]
    scaler = SequenceScaler().fit(RNG.normal(size=(6, 5, 2)))
    assert list(scaler.get_feature_names_out()) == ["x0", "x1"]
