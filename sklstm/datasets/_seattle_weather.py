"""Loader of the bundled Seattle daily weather series."""

import csv
import io
from importlib import resources

import numpy as np
from sklearn.utils import Bunch

FEATURES = ["precipitation", "temp_max", "temp_min", "wind"]


def load_seattle_weather():
    """Load four years of daily weather in Seattle: one long series.

    1461 consecutive days (2012-01-01 to 2015-12-31), one row per day:
    precipitation (mm), maximum and minimum temperature (degrees C) and mean
    wind speed (m/s), from public-domain NOAA records as shipped by the
    vega_datasets package. A real multivariate series with one row per time
    step, for ``SlidingWindowTransformer`` and ``make_windows``. Read
    ``DESCR`` for the source and the caveats.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With ``data`` (float64 array of shape (1461, 4), rows in time order),
        ``feature_names``, ``dates`` (datetime64[D] array), ``weather`` (the
        recorded weather type of each day, a str array; see ``DESCR`` before
        using it as a target) and ``DESCR``.

    Examples
    --------
    >>> from sklstm.datasets import load_seattle_weather
    >>> weather = load_seattle_weather()
    >>> weather.data.shape, weather.feature_names
    ((1461, 4), ['precipitation', 'temp_max', 'temp_min', 'wind'])
    >>> str(weather.dates[0]), str(weather.dates[-1])
    ('2012-01-01', '2015-12-31')
    """
    package = resources.files("sklstm.datasets")
    text = (package / "data" / "seattle_weather.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    data = np.array([[float(row[name]) for name in FEATURES] for row in rows])
    dates = np.array([row["date"].replace("/", "-") for row in rows], dtype="datetime64[D]")
    weather = np.array([row["weather"] for row in rows])
    descr = (package / "descr" / "seattle_weather.rst").read_text(encoding="utf-8")
    return Bunch(
        data=data, feature_names=list(FEATURES), dates=dates, weather=weather, DESCR=descr
    )
