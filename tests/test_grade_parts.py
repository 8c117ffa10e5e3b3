"""The grader's parts: the plain-data protocol, finding submissions, the submission time limit, the sandbox."""
import os
import struct
import threading
import time

import numpy as np
import pytest
import torch

from course_utils.exercises.grade import find_submissions, grade_submission
from course_utils.exercises.protocol import (FrameReader, Opaque, ProtocolError, decode, encode, pack_frame,
                                              to_plain)
from course_utils.exercises.sandbox import available_isolation, bwrap_arguments
from course_utils.exercises.session import Limits
from grading_fixtures import correct, submission, write

pytestmark = pytest.mark.grading


# ---------------------------------------------------------------------------- protocol


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int64,
                                   torch.uint8, torch.bool, torch.complex64])
def test_tensors_cross_the_protocol_bit_for_bit(dtype):
    tensor = (torch.randn(3, 4) * 10).to(dtype)
    back = to_plain(tensor.T)   # non-contiguous on purpose
    assert back.dtype == dtype and back.shape == (4, 3) and torch.equal(back, tensor.T)


def test_plain_values_cross_the_protocol_and_other_objects_become_opaque():
    value = (1, 2.5, float("nan"), None, "text", True, [np.arange(3)], {"k": torch.zeros(2)}, 10**30, object())
    back = to_plain(value)
    assert back[:2] == (1, 2.5) and np.isnan(back[2]) and back[3:6] == (None, "text", True) and back[8] == 10**30
    assert isinstance(back[0], int) and isinstance(back[6][0], np.ndarray) and torch.equal(back[7]["k"], torch.zeros(2))
    assert isinstance(back[9], Opaque) and back[9].description == "a builtins.object object"


@pytest.mark.parametrize("tree, buffers, words", [
    ({"t": "ndarray", "dtype": "object", "shape": [1], "buffer": 0}, [b"\0" * 8], "malformed array header"),
    ({"t": "tensor", "dtype": "float32", "shape": [3], "buffer": 0}, [b"\0" * 8], "do not match"),
    ({"t": "pickle", "v": "cos\nsystem\n"}, [], "unknown value tag"),
    ({"t": "tensor", "dtype": "float32", "shape": [1], "buffer": 5}, [], "malformed value"),
    ({"t": "list", "items": [{"t": "list", "items": []}] * 2 + ["x"]}, [], "malformed value tree"),
])
def test_the_judge_rejects_anything_but_plain_data(tree, buffers, words):
    with pytest.raises(ProtocolError, match=words):
        decode(tree, buffers)


def test_frames_round_trip_and_a_cut_or_oversized_frame_is_refused():
    tree, buffers = encode(torch.arange(5))
    read_fd, write_fd = os.pipe()
    os.write(write_fd, pack_frame({"value": tree}, buffers))
    os.write(write_fd, struct.pack("<I", 2**31))
    os.close(write_fd)
    reader = FrameReader(read_fd)
    header, received = reader.read(deadline=None)
    assert torch.equal(decode(header["value"], received), torch.arange(5))
    with pytest.raises(ProtocolError, match="too large"):
        reader.read()
    os.close(read_fd)
    with pytest.raises(ProtocolError, match="larger than"):
        pack_frame({}, [b"\0" * (65 * 2**20)])


@pytest.mark.parametrize("header", [b"[" * 100_000 + b"]" * 100_000, b'{"buffers": -1}', b'"just a string"'])
def test_a_malicious_frame_header_is_a_protocol_error_not_a_grader_crash(header):
    read_fd, write_fd = os.pipe()
    os.write(write_fd, struct.pack("<I", len(header)))
    reader = FrameReader(read_fd)
    writer = threading.Thread(target=lambda: (os.write(write_fd, header), os.close(write_fd)))
    writer.start()
    with pytest.raises(ProtocolError):
        reader.read(deadline=time.monotonic() + 10)
    writer.join()
    os.close(read_fd)


# ---------------------------------------------------------------------------- finding submissions


def test_submissions_are_found_in_folders_and_named_by_their_path(tmp_path):
    for student in ("bob", "alice"):
        write(submission(), tmp_path / "class" / student / "00_training_recipe.ipynb")
    write(submission(), tmp_path / "class" / ".ipynb_checkpoints" / "00_training_recipe-checkpoint.ipynb")
    (tmp_path / "class" / "notes.txt").write_text("not a notebook")
    found = find_submissions([tmp_path / "class"])
    assert [submission_id for submission_id, _, _ in found] == ["alice/00_training_recipe", "bob/00_training_recipe"]
    assert [student for _, _, student in found] == ["alice", "bob"]
    with pytest.raises(ValueError, match="share the id '00_training_recipe'"):
        find_submissions([path for _, path, _ in found])
    with pytest.raises(ValueError, match="does not exist"):
        find_submissions([tmp_path / "missing"])


# ---------------------------------------------------------------------------- limits and isolation


def test_the_submission_time_limit_stops_a_slow_notebook_and_says_so(tmp_path):
    slow = submission(correct(), before=["import time\ntime.sleep(3)"] * 4)
    path = write(slow, tmp_path / "00_training_recipe.ipynb")
    limits = Limits(cell_seconds=10, exercise_seconds=10, submission_seconds=7, memory_bytes=2 * 2**30)
    report = grade_submission("slow", path, tmp_path / "work", limits, isolation="none")
    assert report["status"] == "graded-with-issues" and report["total"] == 0
    assert "submission's time limit (7 s)" in " ".join(report["notes"])
    assert not (tmp_path / "work").exists()


def test_sandbox_none_grades_one_submission_and_reports_no_isolation(tmp_path):
    path = write(submission(correct("updates_per_epoch")), tmp_path / "00_training_recipe.ipynb")
    report = grade_submission("plain", path, tmp_path / "work", Limits(memory_bytes=2 * 2**30), isolation="none")
    assert (report["total"], report["isolation"], report["status"]) == (1, "none", "graded")


def test_the_sandbox_shows_the_student_only_its_folder_and_the_python_it_needs(tmp_path):
    arguments = bwrap_arguments(tmp_path / "work")
    bound = {arguments[i + 2] for i, flag in enumerate(arguments) if flag in ("--ro-bind", "--bind")}
    writable = [arguments[i + 2] for i, flag in enumerate(arguments) if flag == "--bind"]
    assert writable == [str(tmp_path / "work")] and "/" not in bound and "/home" not in bound
    assert not any(path.startswith(str(tmp_path.parent)) for path in bound - set(writable))
    assert {"--unshare-all", "--die-with-parent", "--new-session"} <= set(arguments)


def test_bubblewrap_is_installed_and_works_here():
    assert available_isolation().startswith("bubblewrap"), (
        "bubblewrap cannot create a sandbox on this machine: install it with `apt-get install -y bubblewrap` "
        "(make test does); without it the grader runs student code without file-system isolation")
