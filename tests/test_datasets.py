"""The bundled JapaneseVowels data, the generator and the main job."""

import numpy as np
import pytest

from sklstm.__main__ import main
from sklstm.datasets import (
    load_japanese_vowels,
    load_seattle_weather,
    make_sequence_classification,
)


def test_japanese_vowels_is_the_official_split():
    data = load_japanese_vowels()
    assert (len(data.X_train), len(data.X_test)) == (270, 370)
    sequences = data.X_train + data.X_test
    assert all(x.dtype == np.float32 and x.shape[1] == 12 for x in sequences)
    lengths = [len(x) for x in sequences]
    assert (min(lengths), max(lengths)) == (7, 29)
    assert np.bincount(data.y_train).tolist() == [0] + [30] * 9
    assert sorted(set(data.y_test.tolist())) == list(range(1, 10))
    assert "CC BY 4.0" in data.DESCR and "Kudo" in data.DESCR
    X_train, X_test, y_train, y_test = load_japanese_vowels(return_X_y=True)
    np.testing.assert_array_equal(X_test[5], data.X_test[5])
    np.testing.assert_array_equal(y_train, data.y_train)


def test_seattle_weather_is_one_gapless_daily_series():
    weather = load_seattle_weather()
    assert weather.data.shape == (1461, 4) and weather.data.dtype == np.float64
    assert np.isfinite(weather.data).all()
    assert np.all(np.diff(weather.dates) == np.timedelta64(1, "D"))  # no gap
    assert (weather.data[:, 0] >= 0).all()  # precipitation
    assert (weather.data[:, 1] >= weather.data[:, 2]).all()  # max >= min
    assert set(weather.weather) == {"drizzle", "fog", "rain", "snow", "sun"}
    assert "public domain" in weather.DESCR and "vega_datasets" in weather.DESCR


def test_make_sequence_classification():
    X, y = make_sequence_classification(
        n_samples=30, n_timesteps=10, n_features=4, n_classes=3, random_state=0
    )
    assert X.shape == (30, 10, 4) and X.dtype == np.float32
    assert np.bincount(y).tolist() == [10, 10, 10]
    again, _ = make_sequence_classification(
        n_samples=30, n_timesteps=10, n_features=4, n_classes=3, random_state=0
    )
    np.testing.assert_array_equal(X, again)
    X, _ = make_sequence_classification(
        n_samples=50, n_timesteps=9, min_timesteps=3, random_state=0
    )
    assert {len(x) for x in X} <= set(range(3, 10)) and len({len(x) for x in X}) > 3
    with pytest.raises(ValueError, match="min_timesteps=5 exceeds n_timesteps=4"):
        make_sequence_classification(n_timesteps=4, min_timesteps=5)


def test_main_job_reports_accuracy(capsys):
    main()
    out = capsys.readouterr().out
    assert "epoch" in out and "train_loss" in out  # training progress
    accuracy = float(out.split("test accuracy: ")[1].split()[0])
    assert accuracy > 0.9
    assert "precision" in out and "recall" in out  # the classification report
