"""The atomic-energy teacher-student recipe: labels, the loss, sizes, the students, and bad input."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from mlip_lab.distill import (
    STUDENT_CONFIG, STUDENT_WEIGHTS, TEACHER_CONFIG, build_hipnn, count_parameters, student_loss,
    teacher_atomic_energies, train_student, train_teacher_and_students,
)
from mlip_lab.errors import MLIPLabError
from mlip_lab.train import predict_dataset
from tests.distill.tiny import FAST, TINY

ELEMENTS = (1, 6, 8)


class ShiftedEnergy(torch.nn.Module):
    """A model that passes the contract's two-atom probe but adds 0.1 eV to the energy of every configuration
    with more than two atoms, so its atomic energies no longer sum to its energy on real molecules."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    @property
    def elements(self):
        return self.inner.elements

    @staticmethod
    def _shift(out, species):
        return replace(out, energy=out.energy + 0.1 * ((torch.as_tensor(species) > 0).sum(1) > 2))

    def forward(self, species, positions, cells=None, pbc=None):
        return self._shift(self.inner(species, positions, cells, pbc), species)

    def predict(self, species, positions, cells=None, pbc=None, forces=True):
        return self._shift(self.inner.predict(species, positions, cells, pbc, forces=forces), species)


@pytest.fixture
def molecules(make_dataset):
    return make_dataset(("water", "methane", "water", "methane"), atomic_energies=False)


def test_teacher_atomic_energies_label_the_data(make_model, molecules):
    teacher = make_model(ELEMENTS, seed=1)
    labelled = teacher_atomic_energies(teacher, molecules)
    predicted = predict_dataset(teacher, molecules, forces=False)
    assert np.allclose(labelled.atomic_energies, predicted.atomic_energies)
    assert np.allclose(labelled.atomic_energies.sum(1), predicted.energies)
    assert np.array_equal(labelled.energies, molecules.energies) and np.array_equal(labelled.forces, molecules.forces)
    assert labelled.metadata["teacher_elements"] == list(ELEMENTS)


def test_teacher_whose_atomic_energies_do_not_sum_to_its_energy_is_refused(make_model, molecules):
    with pytest.raises(MLIPLabError, match="teacher's atomic energies do not sum to its energy"):
        teacher_atomic_energies(ShiftedEnergy(make_model(ELEMENTS)), molecules)


def test_teacher_must_pass_the_contract_and_cover_the_elements(make_model, molecules):
    with pytest.raises(MLIPLabError, match="model contract"):
        teacher_atomic_energies(torch.nn.Linear(3, 1), molecules)
    with pytest.raises(MLIPLabError, match=r"elements \[8\]"):
        teacher_atomic_energies(make_model((1, 6)), molecules)


def test_student_loss_is_the_reference_recipe():
    loss = student_loss()
    assert [(t.name, t.metric, t.weight) for t in loss.terms] == [
        ("energy_rmse", "rmse", 1.0), ("energy_mae", "mae", 1.0),
        ("forces_rmse", "rmse", 30.0), ("forces_mae", "mae", 30.0),
        ("atomic_energies_rmse", "rmse", 100.0), ("atomic_energies_mae", "mae", 100.0),
        ("hierarchicality", None, 0.01), ("l2", None, 1e-6),
    ]
    control = student_loss(atomic_energies=False)
    assert control.names == [n for n in loss.names if not n.startswith("atomic_energies")]
    assert [t.weight for t in student_loss(weights={"forces": 10.0}).terms][2:4] == [10.0, 10.0]
    with pytest.raises(MLIPLabError, match="unknown weight keys"):
        student_loss(weights={"hessian": 1.0})
    assert STUDENT_WEIGHTS["atomic_energies"] == 100.0


def test_student_loss_total_is_the_weighted_sum(make_model, molecules):
    teacher = make_model(ELEMENTS, seed=1)
    batch = next(teacher_atomic_energies(teacher, molecules).batches(4, dtype=torch.float64))
    loss = student_loss()
    total, values = loss(make_model(ELEMENTS, seed=2), batch, training=False)
    expected = sum(t.weight * float(values[t.name]) for t in loss.terms)
    assert float(total.detach()) == pytest.approx(expected) and float(values["atomic_energies_rmse"]) > 0


def test_student_asked_to_learn_atomic_energies_the_data_lack(molecules):
    with pytest.raises(MLIPLabError, match=r"carries none; label it with teacher_atomic_energies"):
        train_student(molecules, molecules, TINY, atomic_energies=True, **FAST)


def test_student_for_other_elements_than_its_teacher_is_refused(make_model, molecules):
    labelled = teacher_atomic_energies(make_model(ELEMENTS), molecules)
    with pytest.raises(MLIPLabError, match="teacher was built for elements"):
        train_student(labelled, labelled, replace(TINY, elements=(1, 6, 7, 8)), **FAST)
    with pytest.raises(MLIPLabError, match="teacher was built for elements"):
        train_teacher_and_students(molecules, molecules, TINY, replace(TINY, elements=(1, 6, 7, 8)), **FAST)


def test_default_teacher_has_at_least_five_times_the_students_parameters():
    teacher, student = build_hipnn(TEACHER_CONFIG), build_hipnn(STUDENT_CONFIG)
    assert count_parameters(teacher) >= 5 * count_parameters(student)
    assert teacher.elements == student.elements


def test_build_hipnn_depends_on_the_seed_only():
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    a, b, c = build_hipnn(TINY, seed=4), build_hipnn(TINY, seed=4), build_hipnn(TINY, seed=5)
    assert torch.equal(torch.random.get_rng_state(), state)  # torch's global random state is untouched
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))
    assert any(not torch.equal(x, y) for x, y in zip(a.parameters(), c.parameters()))


def test_student_with_atomic_energies_learns_the_teachers_better_than_the_control(organics_small):
    train, valid = organics_small
    teacher_config = replace(TINY, n_features=24, n_atom_layers=2)
    run = train_teacher_and_students(train, valid, teacher_config, TINY, seed=0, teacher_options=dict(max_epochs=3),
                                     max_epochs=6, batch_size=8, progress=False)
    assert count_parameters(run.teacher.model) > 5 * count_parameters(run.with_atomic_energies.model)
    assert "atomic_energies_rmse" in run.with_atomic_energies.history[-1].train
    assert "atomic_energies_rmse" not in run.without_atomic_energies.history[-1].train

    def atomic_energy_mae(trainer):
        predicted = predict_dataset(trainer.model, run.train, forces=False).atomic_energies
        return np.abs(predicted - run.train.atomic_energies)[run.train.species > 0].mean()

    assert atomic_energy_mae(run.with_atomic_energies) < atomic_energy_mae(run.without_atomic_energies)
