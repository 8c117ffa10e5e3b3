"""Chapter 6 on either source of data: the class labels it shows are true for the data it ran on (the local
corpus's phoneme names, or libriphone's bare indices), and the chapter runs up to its exercises on a folder in
the homework's layout."""
import ast
from pathlib import Path

import nbformat
import pytest
import torch
from test_hw02_libriphone import make_fake_libriphone

from course_utils.hw02 import experiments
from course_utils.hw02.phonemes import CLASSES

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "06_hw02_phoneme_classification.ipynb"


def test_class_names_are_phonemes_for_the_local_corpus_and_indices_for_libriphone():
    assert experiments.class_names("synthetic") == CLASSES
    assert experiments.class_names("libriphone") == tuple(str(i) for i in range(41))
    with pytest.raises(ValueError, match="'synthetic' or 'libriphone'"):
        experiments.class_names("kaggle")


def test_error_kinds_refuse_classes_without_phoneme_names():
    matrix = torch.ones(41, 41, dtype=torch.long)
    assert set(experiments.confusion_shares(matrix, experiments.class_names("synthetic"))) == set(
        experiments.CONFUSION_KINDS)
    with pytest.raises(ValueError, match="numbered only"):
        experiments.confusion_shares(matrix, experiments.class_names("libriphone"))


def chapter_before_exercises():
    """The chapter's cells before its exercises (the cell that imports `check` opens them)."""
    cells = nbformat.read(NOTEBOOK, as_version=4).cells
    return cells[:next(i for i, cell in enumerate(cells) if "import check" in cell.source)]


def test_the_chapter_labels_libriphone_classes_by_index(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    data = make_fake_libriphone(tmp_path / "libriphone", num_train=30, num_test=8, learnable=True)
    monkeypatch.setenv("LIBRIPHONE_DIR", str(data))
    probe = nbformat.v4.new_code_cell('print("ticks:", [t.get_text() for t in ax.get_yticklabels()])')
    notebook = nbformat.v4.new_notebook(cells=chapter_before_exercises() + [probe])
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    text = {i: "".join(o.get("text", "") for o in cell.get("outputs", [])) for i, cell in enumerate(notebook.cells)}
    assert "the real libriphone folder" in text[next(i for i, t in text.items() if t.startswith("data:"))]
    ticks = ast.literal_eval(text[len(notebook.cells) - 1].removeprefix("ticks:"))
    assert len(ticks) == 10 and all(t.isdigit() and 0 <= int(t) < 41 for t in ticks), ticks
    assert any("numbered, not named" in t for t in text.values())
    assert not any(name in t for t in text.values() for name in experiments.CONFUSION_KINDS)
    assert any(t.startswith("Id,Class\n0,") for t in text.values())
