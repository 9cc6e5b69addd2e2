"""Ensemble knowledge distillation: teachers, ensemble-mean force labels and their spread, the student, and
hiding DFT forces to grade the recipe."""

import copy
from dataclasses import replace

import numpy as np
import pytest
import torch

from mlip_lab.data import Dataset
from mlip_lab.distill import (
    EKD_ENERGY_WEIGHT, EKD_FORCE_WEIGHT, ekd_loss, ensemble_force_labels, force_errors_against, hide_forces,
    run_ekd, teacher_draws, train_ekd_student, train_teachers,
)
from mlip_lab.errors import MLIPLabError
from mlip_lab.models import Ensemble, check_model
from mlip_lab.train import predict_dataset
from tests.distill.tiny import FAST, TINY

ELEMENTS = (1, 6, 8)


@pytest.fixture
def teachers(make_model):
    return Ensemble([make_model(ELEMENTS, seed=seed) for seed in (1, 2, 3)])


@pytest.fixture
def molecules(make_dataset):
    return make_dataset(("water", "methane", "water", "methane"))


def test_force_labels_are_the_mean_of_the_teachers_forces(teachers, molecules):
    labels = ensemble_force_labels(teachers, molecules, batch_size=3)
    members = np.stack([predict_dataset(m, molecules).forces for m in teachers.members])
    energies = np.stack([predict_dataset(m, molecules).energies for m in teachers.members])
    assert np.allclose(labels.member_forces, members) and np.allclose(labels.forces, members.mean(0))
    deviation = members - members.mean(0)
    assert np.allclose(labels.force_spread, np.sqrt((deviation**2).sum(-1).mean(0)))  # RMS distance from the mean
    assert np.allclose(labels.energies, energies.mean(0)) and np.allclose(labels.energy_spread, energies.std(0))
    assert labels.force_spread[0, 3:].sum() == 0 and labels.force_spread[0, :3].min() > 0  # water: padding is zero


def test_identical_teachers_have_zero_spread(make_model, molecules):
    teacher = make_model(ELEMENTS, seed=1)
    labels = ensemble_force_labels([teacher, copy.deepcopy(teacher)], molecules)
    assert np.abs(labels.force_spread).max() < 1e-12 and np.abs(labels.energy_spread).max() < 1e-9
    assert np.allclose(labels.forces, predict_dataset(teacher, molecules).forces)


def test_label_puts_the_teachers_forces_on_the_qc_energies(teachers, molecules):
    labels = ensemble_force_labels(teachers, molecules)
    labelled = labels.label(hide_forces(molecules))
    assert np.array_equal(labelled.forces, labels.forces) and np.array_equal(labelled.energies, molecules.energies)
    assert labelled.metadata["teacher_elements"] == list(ELEMENTS)
    with pytest.raises(MLIPLabError, match="call ensemble_force_labels"):
        labels.label(molecules.subset([0, 1]))


def test_ekd_needs_at_least_two_teachers(make_model, molecules):
    with pytest.raises(MLIPLabError, match="at least 2 teachers"):
        ensemble_force_labels(Ensemble([make_model(ELEMENTS)]), molecules)
    with pytest.raises(MLIPLabError, match="at least 2 teachers"):
        ensemble_force_labels(make_model(ELEMENTS), molecules)
    with pytest.raises(MLIPLabError, match="at least 2 teachers"):
        train_teachers(molecules, molecules, k=1, config=TINY, **FAST)


def test_teachers_must_accept_the_datasets_elements(make_model, molecules):
    hydrocarbon_teachers = [make_model((1, 6), seed=s) for s in (1, 2)]
    with pytest.raises(MLIPLabError, match=r"elements \[8\]"):
        ensemble_force_labels(hydrocarbon_teachers, molecules)
    with pytest.raises(MLIPLabError, match="different elements"):  # the Ensemble refuses mixed members
        ensemble_force_labels([make_model((1, 6, 8)), make_model((1, 6, 7, 8))], molecules)


def test_student_for_other_elements_than_its_teachers_is_refused(teachers, molecules):
    labelled = ensemble_force_labels(teachers, molecules).label(molecules)
    with pytest.raises(MLIPLabError, match="teacher was built for elements"):
        train_ekd_student(labelled, labelled, replace(TINY, elements=(1, 6, 7, 8)), **FAST)


def test_student_needs_teacher_forces(molecules):
    energy_only = hide_forces(molecules)
    with pytest.raises(MLIPLabError, match=r"ensemble_force_labels\(teachers, data\).label"):
        train_ekd_student(energy_only, energy_only, TINY, **FAST)


def test_recipes_need_a_dataset_and_a_dataset_always_has_energies(molecules):
    with pytest.raises(MLIPLabError, match="must be a mlip_lab.data.Dataset"):
        train_teachers(molecules.energies, molecules, config=TINY, **FAST)
    with pytest.raises(MLIPLabError, match="energies"):
        Dataset(species=molecules.species, positions=molecules.positions, energies=None)


def test_teacher_draws_differ_by_seed(molecules):
    data = Dataset.concatenate([molecules] * 3)
    boot = teacher_draws(data, molecules, seeds=(0, 1), resample="bootstrap")
    assert all(len(train) == len(data) and valid is molecules for train, valid in boot)
    assert not np.array_equal(boot[0][0].energies, boot[1][0].energies)
    split = teacher_draws(data, molecules, seeds=(0, 1), resample="split")
    assert [(len(t), len(v)) for t, v in split] == [(12, 4), (12, 4)]
    assert not np.array_equal(split[0][1].energies, split[1][1].energies)
    with pytest.raises(MLIPLabError, match="resample must be one of"):
        teacher_draws(data, molecules, seeds=(0,), resample="jackknife")


def test_train_teachers_gives_different_energy_only_models(molecules):
    ensemble = train_teachers(hide_forces(molecules), hide_forces(molecules), k=2, config=TINY, resample="split",
                              dtype=torch.float64, **FAST)
    assert isinstance(ensemble, Ensemble) and len(ensemble) == 2 and check_model(ensemble) is ensemble
    first, second = (dict(m.named_parameters()) for m in ensemble.members)
    assert any(not torch.equal(first[name], second[name]) for name in first)
    with pytest.raises(MLIPLabError, match="distinct seeds"):
        train_teachers(molecules, molecules, k=2, seeds=(3, 3), config=TINY, **FAST)


def test_ekd_student_trains_on_energies_and_teacher_forces(teachers, molecules):
    labelled = ensemble_force_labels(teachers, molecules).label(hide_forces(molecules))
    trainer = train_ekd_student(labelled, labelled, TINY, force_weight=7.0, **FAST)
    assert set(trainer.history[-1].train) == {"energy_rmse", "forces_rmse", "total"}
    assert [t.weight for t in trainer.loss.terms] == [EKD_ENERGY_WEIGHT, 7.0]
    assert [t.weight for t in ekd_loss().terms] == [EKD_ENERGY_WEIGHT, EKD_FORCE_WEIGHT]


def test_hide_forces_keeps_energies_and_the_original_grades(molecules):
    hidden = hide_forces(molecules)
    assert hidden.forces is None and hidden.hessians is None and hidden.atomic_energies is None
    assert np.array_equal(hidden.energies, molecules.energies)
    assert hidden.metadata["hidden"] == ["forces", "hessians", "atomic_energies"]
    with pytest.raises(MLIPLabError, match="no forces to hide"):
        hide_forces(hidden)
    assert force_errors_against(molecules, molecules.forces).mae == 0
    shifted = molecules.forces + 0.5 * (molecules.species > 0)[..., None]
    stats = force_errors_against(molecules, shifted)
    assert stats.mae == pytest.approx(0.5) and stats.count == 3 * int(molecules.n_atoms.sum())
    with pytest.raises(MLIPLabError, match="no forces to grade against"):
        force_errors_against(hidden, molecules.forces)


def test_run_ekd_on_dft_energies_with_hidden_forces(organics_small):
    train, valid = organics_small
    run = run_ekd(train, valid, k=2, teacher_config=TINY, student_config=TINY, **FAST)
    assert len(run.teachers) == 2 and run.train_labels.forces.shape == train.forces.shape
    assert not np.allclose(run.train_labels.forces, train.forces)  # the DFT forces never reached the teachers
    assert set(run.baseline.history[-1].train) == {"energy_rmse", "total"}
    assert set(run.student.history[-1].train) == {"energy_rmse", "forces_rmse", "total"}
    for trainer in (run.student, run.baseline):
        stats = force_errors_against(valid, predict_dataset(trainer.model, valid).forces)
        assert stats.count == 3 * int(valid.n_atoms.sum()) and np.isfinite(stats.mae)
