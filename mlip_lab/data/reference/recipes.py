"""Named recipes: which systems a reference dataset holds and how densely each is sampled."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlip_lab.errors import MLIPLabError

from mlip_lab.data.reference.qc import CoupledClusterSettings, QCSettings


@dataclass(frozen=True)
class Draw:
    """Geometries taken from a shipped dataset instead of sampled anew, stratified by (molecule, category,
    temperature): each stratum is shuffled with ``seed``, its first ``skip`` geometries are passed over (another
    recipe drawing with the same seed takes them), then ``per_stratum`` geometries, or ``fraction`` of the
    stratum (rounded up), are taken. Recipes that share a seed and use disjoint slots get disjoint geometries.
    """

    dataset: str
    per_stratum: int | None = None
    fraction: float | None = None
    skip: int = 0
    molecules: tuple[str, ...] = ()  # () = every molecule of the dataset
    categories: tuple[str, ...] = ("nms", "md")
    seed: int = 0

    def take(self, stratum_size: int) -> int:
        """How many geometries this draw takes from a stratum of ``stratum_size``."""
        if self.per_stratum is not None:
            return self.per_stratum
        return int(-(-self.fraction * stratum_size // 1))


@dataclass(frozen=True)
class Recipe:
    """What to build. Counts are per stationary point (NMS) or per temperature (MD)."""

    name: str
    description: str
    reactions: tuple[str, ...] = ()
    molecules: tuple[str, ...] = ()
    nms_temperatures: tuple[float, ...] = ()
    nms_per_temperature: int = 0
    md_temperatures: tuple[float, ...] = ()
    md_per_temperature: int = 0
    irc_points_per_side: int = 0
    irc_steps: int = 20
    irc_dx: float = 0.15
    # (molecule, nms_per_temperature, md_per_temperature): sparser sampling for costly molecules; a
    # smaller count takes the first samples of the same seeded streams, so labels already made stay valid.
    sample_overrides: tuple[tuple[str, int, int], ...] = ()
    hessian_for_all: bool = False  # else only stationary points get a Hessian (DFT labels only)
    seed: int = 0
    settings: QCSettings = field(default_factory=QCSettings)  # DFT: labels, and every geometry search
    draws: tuple[Draw, ...] = ()
    # "dft" (settings) or "ccsd(t)" (coupled_cluster); label_forces=False stores energies only, as real
    # coupled-cluster datasets do (ANI-1ccx has no forces)
    label_method: str = "dft"
    label_forces: bool = True
    coupled_cluster: CoupledClusterSettings = field(default_factory=CoupledClusterSettings)

    def __post_init__(self):
        if self.label_method not in ("dft", "ccsd(t)"):
            raise MLIPLabError(f"{self.name}: label_method must be 'dft' or 'ccsd(t)', got {self.label_method!r}")
        if not self.label_forces and self.label_method == "dft":
            raise MLIPLabError(f"{self.name}: DFT labels always carry forces (they cost almost nothing extra)")
        for draw in self.draws:
            if (draw.per_stratum is None) == (draw.fraction is None):
                raise MLIPLabError(f"{self.name}: a Draw takes either per_stratum or fraction, not both or neither")

    def sample_counts(self, system: str) -> tuple[int, int]:
        """(normal-mode samples per temperature and stationary point, MD snapshots per temperature)."""
        for name, nms, md in self.sample_overrides:
            if name == system:
                return nms, md
        return self.nms_per_temperature, self.md_per_temperature


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in [
        Recipe(
            name="reactions",
            description="Four small gas-phase reactions: reactant, product and transition state, the IRC "
            "between them and normal-mode samples around all three; every configuration has its Hessian.",
            reactions=("hcn_hnc", "h2co_h2_co", "h2co_hcoh", "hono_cis_trans"),
            nms_temperatures=(300.0, 600.0, 1000.0),
            nms_per_temperature=12,
            irc_points_per_side=10,
            hessian_for_all=True,
            seed=2026,
        ),
        Recipe(
            name="organics",
            description="Seven small closed-shell H/C/N/O molecules: normal-mode samples and GFN2-xTB-driven "
            "Langevin MD snapshots at 300-1000 K, each labelled by DFT energy and forces; the optimised "
            "minimum of each molecule also has its Hessian.",
            molecules=("water", "ammonia", "methane", "formaldehyde", "methanol", "formic_acid", "ethanol"),
            nms_temperatures=(300.0, 600.0, 1000.0),
            nms_per_temperature=40,
            md_temperatures=(300.0, 600.0, 1000.0),
            md_per_temperature=40,
            # ethanol (9 atoms) costs about 4x the others per label; water, the cheapest, is sampled densely
            # because its compressed O-H and H-O-H geometries at 1000 K are the hardest to interpolate
            sample_overrides=(("ethanol", 20, 20), ("water", 100, 100)),
            seed=2027,
        ),
        Recipe(
            name="organics_ccsdt",
            description="CCSD(T)/cc-pVDZ energies (RHF reference, frozen core) of organics geometries, energies "
            "only, as real coupled-cluster datasets are: 60 % of every molecule's normal-mode and MD samples at "
            "each temperature. metadata['source_indices'] gives each configuration's index in organics, whose "
            "DFT energies and forces belong to the same geometries.",
            draws=(Draw("organics", fraction=0.6, skip=1, seed=2028),),
            label_method="ccsd(t)",
            label_forces=False,
            seed=2028,
        ),
        Recipe(
            name="ccsdt_grading",
            description="A grading set training never sees: CCSD(T)/cc-pVDZ energies and analytic forces (RHF "
            "reference, frozen core) of one organics geometry per molecule, category and temperature (none of "
            "them in organics_ccsdt), and of four molecules that are not in organics at all, sampled like "
            "organics (DFT minimum, normal-mode samples, GFN2-xTB MD snapshots).",
            molecules=("acetaldehyde", "methylamine", "formamide", "hydrogen_cyanide"),
            nms_temperatures=(300.0, 600.0, 1000.0),
            nms_per_temperature=1,
            md_temperatures=(300.0, 600.0, 1000.0),
            md_per_temperature=1,
            draws=(Draw("organics", per_stratum=1, seed=2028),),
            label_method="ccsd(t)",
            seed=2029,
        ),
        Recipe(
            name="water-tiny-ccsdt",
            description="A handful of water geometries labelled by CCSD(T)/STO-3G, for testing the "
            "coupled-cluster path of the recipe machinery end to end.",
            molecules=("water",),
            nms_temperatures=(500.0,),
            nms_per_temperature=1,
            draws=(Draw("organics", per_stratum=1, molecules=("water",), categories=("md",), seed=3),),
            label_method="ccsd(t)",
            seed=1,
            settings=QCSettings(basis="sto-3g"),
            coupled_cluster=CoupledClusterSettings(basis="sto-3g"),
        ),
        Recipe(
            name="water-tiny",
            description="A handful of water geometries for testing the recipe machinery end to end.",
            molecules=("water",),
            nms_temperatures=(500.0,),
            nms_per_temperature=2,
            md_temperatures=(500.0,),
            md_per_temperature=1,
            hessian_for_all=True,
            seed=1,
            settings=QCSettings(basis="sto-3g"),
        ),
    ]
}
