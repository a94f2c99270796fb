"""Loader of the bundled JapaneseVowels data set."""

from importlib import resources

import numpy as np
from sklearn.utils import Bunch


def load_japanese_vowels(*, return_X_y=False):
    """Load the JapaneseVowels speaker data set (official train/test split).

    640 utterances of the vowels /ae/ by 9 speakers, each a sequence of 7 to
    29 frames of 12 LPC cepstrum coefficients. The task is to tell the
    speaker. Licence CC BY 4.0; read ``DESCR`` for the source and citation.

    Parameters
    ----------
    return_X_y : bool, default=False
        If True, return ``(X_train, X_test, y_train, y_test)``, in the order
        of :func:`sklearn.model_selection.train_test_split`.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        With ``X_train`` (list of 270 float32 arrays of shape
        ``(n_timesteps, 12)``), ``y_train`` (int64 labels 1 to 9), ``X_test``
        (list of 370 arrays), ``y_test``, ``target_names`` and ``DESCR``.
    (X_train, X_test, y_train, y_test) : tuple
        If ``return_X_y`` is True.

    Examples
    --------
    >>> from sklstm.datasets import load_japanese_vowels
    >>> data = load_japanese_vowels()
    >>> len(data.X_train), len(data.X_test)
    (270, 370)
    >>> data.X_train[0].shape, data.X_train[0].dtype
    ((20, 12), dtype('float32'))
    >>> sorted(set(data.y_train.tolist()))
    [1, 2, 3, 4, 5, 6, 7, 8, 9]
    """
    package = resources.files("sklstm.datasets")
    with (package / "data" / "japanese_vowels.npz").open("rb") as f:
        arrays = dict(np.load(f, allow_pickle=False))
    splits = {}
    for split in ("train", "test"):
        ends = np.cumsum(arrays[f"{split}_lengths"])[:-1]
        splits[f"X_{split}"] = np.split(arrays[f"{split}_values"], ends)
        splits[f"y_{split}"] = arrays[f"{split}_labels"]
    if return_X_y:
        return splits["X_train"], splits["X_test"], splits["y_train"], splits["y_test"]
    descr = (package / "descr" / "japanese_vowels.rst").read_text(encoding="utf-8")
    return Bunch(**splits, target_names=np.arange(1, 10), DESCR=descr)
