"""write_atomically: a file appears whole or not at all, under the temporary names .gitignore expects."""

import pytest

from mlip_lab.data.paths import write_atomically


def test_a_failed_write_leaves_the_old_file_and_only_an_ignored_temporary(tmp_path):
    path = tmp_path / "chunk.npz"
    path.write_text("old")
    seen = []

    def fails(tmp):
        seen.append(tmp.name)
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_atomically(path, fails)
    assert path.read_text() == "old" and seen == ["chunk.tmp.npz"]
    assert write_atomically(tmp_path / "a.state.xml", lambda tmp: tmp.write_text("new")).read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.state.xml", "chunk.npz", "chunk.tmp.npz"]
