"""The windowed example runs and its LSTM beats the majority class."""

import runpy
from pathlib import Path

EXAMPLES = Path(__file__).parents[1] / "examples"


def test_seattle_weather_example(capsys):
    runpy.run_path(str(EXAMPLES / "plot_seattle_weather_windows.py"), run_name="__main__")
    lines = capsys.readouterr().out.splitlines()
    accuracy = {
        line.split("accuracy")[0].strip(): float(line.split("accuracy")[1].split()[0])
        for line in lines
        if "accuracy" in line
    }
    assert set(accuracy) == {
        "majority class", "logistic regression, last day", "LSTM, 7-day window"
    }
    assert accuracy["LSTM, 7-day window"] > accuracy["majority class"] + 0.05
