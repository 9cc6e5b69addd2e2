"""``mlip-lab doctor``'s dataset check finds the shipped data and says where it looked when it does not."""

import mlip_lab.data
from mlip_lab.data import load
from mlip_lab.data.paths import DATA_DIR
from mlip_lab.doctor import check_data


def test_data_check_loads_the_shipped_datasets():
    findings = {f.topic: f for f in check_data()}
    assert findings["dataset organics"].ok
    assert findings["dataset organics"].detail == f"{len(load('organics'))} configurations"
    assert findings["dataset reactions"].ok


def test_data_check_names_the_folder_it_looked_in_and_how_to_fix_it(monkeypatch):
    monkeypatch.setattr(mlip_lab.data, "shipped_datasets", lambda: [])
    (organics,) = [f for f in check_data() if f.topic == "dataset organics"]
    assert not organics.ok and organics.required
    assert str(DATA_DIR) in organics.detail
    assert "reinstall mlip_lab" in organics.fix and "build organics" in organics.fix


def test_package_check_names_each_extra_and_its_install_command():
    from mlip_lab.doctor import check_packages

    findings = {f.topic: f for f in check_packages()}
    assert findings["cg: openmm"].fix == "pip install -e '.[cg]'" and not findings["cg: openmm"].required
    assert findings["core: torch"].ok and findings["core: torch"].required
