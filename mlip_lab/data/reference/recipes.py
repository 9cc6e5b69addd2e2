"""Named recipes: which systems a reference dataset holds and how densely each is sampled."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlip_lab.data.reference.qc import QCSettings


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
    hessian_for_all: bool = False  # else only stationary points get a Hessian
    seed: int = 0
    settings: QCSettings = field(default_factory=QCSettings)

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
