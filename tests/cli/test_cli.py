"""The mlip-lab command: data info/validate and the doctor."""

import numpy as np
import pytest

from mlip_lab.cli import main
from mlip_lab.data import Dataset, save_npz
from mlip_lab.doctor import Finding, installed_lab_extensions, report, run_checks


@pytest.fixture
def water_file(tmp_path):
    ds = Dataset(np.array([[8, 1, 1]]), np.array([[[0, 0, 0], [0, 0.76, 0.58], [0, -0.76, 0.58]]]),
                 np.array([-2079.5]), np.zeros((1, 3, 3)), molecule=np.array(["water"]), category=np.array(["min"]), name="w")
    return save_npz(ds, tmp_path / "w.npz")


def test_data_info_and_validate(water_file, capsys):
    assert main(["data", "info", str(water_file)]) == 0
    out = capsys.readouterr().out
    assert "configurations: 1" in out and "elements: H, O" in out and "min 1" in out
    assert main(["data", "validate", str(water_file)]) == 0
    assert "valid, 1 configurations" in capsys.readouterr().out


def test_data_validate_reports_bad_files(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"")
    assert main(["data", "validate", str(bad)]) == 1
    assert "empty" in capsys.readouterr().err
    assert main(["data", "info", "no_such_dataset"]) == 1
    assert "no shipped dataset named 'no_such_dataset'" in capsys.readouterr().err


def test_report_marks_required_failures():
    text, healthy = report([Finding("a", True, "fine"), Finding("gpu", False, "none", "buy one", required=False)])
    assert healthy and "[note] gpu" in text
    text, healthy = report([Finding("nglview 3.1.x", False, "4.0.1", "pip install 'nglview<3.2'")])
    assert not healthy and "-> pip install 'nglview<3.2'" in text


def test_doctor_sees_this_install():
    pytest.importorskip("jupyterlab")
    extensions = installed_lab_extensions()
    assert extensions is not None and "@jupyter-widgets/jupyterlab-manager" in extensions
    findings = {f.topic: f for f in run_checks()}
    assert findings["core: torch"].ok
    assert "GPU" in findings
