import pytest

from pycompress.core.errors import PycompressError
from pycompress.core.fileio import MANIFEST, atomic_directory, read_json_object


def test_read_json_object(tmp_path):
    good, bad, listy = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    good.write_text('{"x": 1}')
    bad.write_text("{not json")
    listy.write_text("[1, 2]")
    assert read_json_object(good, "manifest") == {"x": 1}
    with pytest.raises(PycompressError, match="unreadable manifest"):
        read_json_object(bad, "manifest")
    with pytest.raises(PycompressError, match="manifest is not a JSON object"):
        read_json_object(listy, "manifest")
    with pytest.raises(PycompressError, match="unreadable manifest"):
        read_json_object(tmp_path / "missing.json", "manifest")


def test_atomic_directory_keeps_the_old_tree_on_failure(tmp_path):
    out = tmp_path / "project"
    with atomic_directory(out) as tmp:
        (tmp / "a.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_directory(out) as tmp:
            (tmp / "a.txt").write_text("half")
            raise RuntimeError("boom")
    assert (out / "a.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]  # no temp folders left behind
    with atomic_directory(out) as tmp:
        (tmp / "b.txt").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST, "b.txt"]  # the new tree and its manifest
