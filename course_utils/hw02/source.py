"""Which data a run uses: the real libriphone when it is given, else the local corpus.

Order of precedence: an explicit folder, then ``$LIBRIPHONE_DIR``, then the
synthetic corpus of `corpus.make_corpus` (made on first use, then cached).
Every caller gets a `DataSource` whose `description` says which it is.
"""
import os
from dataclasses import dataclass
from pathlib import Path

from .corpus import CorpusConfig, make_corpus

REQUIRED = ("train_split.txt", "train_labels.txt", "test_split.txt", "feat/train", "feat/test")


@dataclass(frozen=True)
class DataSource:
    path: Path
    kind: str            # "libriphone" (the real data) or "synthetic"
    description: str
    test_labels: Path = None   # the answers, when known (the local corpus's instructor copy)


def check_layout(path):
    """Raise FileNotFoundError naming what a libriphone folder lacks."""
    missing = [name for name in REQUIRED if not (Path(path) / name).exists()]
    if missing:
        raise FileNotFoundError(f"{path} is not a libriphone folder: it lacks {', '.join(missing)} (expected "
                                f"{', '.join(REQUIRED)})")


def data_source(libriphone_dir=None, config=None, workers=None, progress=True):
    """The real data in `libriphone_dir` or ``$LIBRIPHONE_DIR`` if either is set, else the local corpus
    made from `config` (default `CorpusConfig()`)."""
    given = libriphone_dir or os.environ.get("LIBRIPHONE_DIR")
    if given:
        path = Path(given).expanduser()
        check_layout(path)
        labels = path / "test_labels.txt"
        origin = "argument" if libriphone_dir else "$LIBRIPHONE_DIR"
        return DataSource(path, "libriphone", f"libriphone data at {path} (from {origin})",
                          labels if labels.is_file() else None)
    config = config or CorpusConfig()
    path = make_corpus(config, workers=workers, progress=progress)
    return DataSource(path, "synthetic", f"local synthetic corpus at {path} (eSpeak NG, seed {config.seed}, "
                                         f"{config.num_train} train + {config.num_test} test utterances)",
                      path / "test_labels.txt")
