"""Output folders and quick mode follow the environment."""

from mlip_lab.settings import output_dir, quick_mode


def test_output_dir_and_quick_mode_follow_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MLIP_LAB_OUTPUT_DIR", str(tmp_path))
    assert output_dir("lesson") == tmp_path / "lesson" and (tmp_path / "lesson").is_dir()
    for value, expected in (("1", True), ("0", False), ("", False), ("yes", True)):
        monkeypatch.setenv("MLIP_LAB_QUICK", value)
        assert quick_mode() is expected

