"""What an atomistic liquid reference simulates, and the fixed sequence of chunks that does it.

A build is a list of chunks, each ``chunk_frames`` saved frames ``frame_interval`` ps apart, run one after
another; each starts from the saved state of its predecessor, so a stopped build continues at the first
chunk whose file is missing:

1. ``compress``: from a low-density lattice (minimised), NPT at the validation temperature (discarded);
2. ``validate``: NPT at the validation temperature; its density and O-O RDF are checked against experiment
   before anything else runs;
3. for each temperature, in recipe order (each starting from the last ``validate`` state):
   ``npt`` (the first ``npt_equilibrate_chunks`` discarded, the rest averaged to the NPT density),
   ``nvt`` (equilibration in the box rescaled to that density) and ``production`` (the saved CG data).
"""

from __future__ import annotations

from dataclasses import dataclass

from mlip_lab.errors import MLIPLabError

NPT_STAGES = ("compress", "validate", "npt")


@dataclass(frozen=True)
class Chunk:
    """One resumable piece of a build: ``stage`` at ``temperature`` K, the ``index``-th of its stage there.
    ``previous`` is the key of the chunk whose final state it starts from (None: the lattice)."""

    stage: str
    temperature: float
    index: int
    previous: str | None

    @property
    def key(self) -> str:
        return f"{self.temperature:g}K/{self.stage}_{self.index:03d}"

    @property
    def npt(self) -> bool:
        return self.stage in NPT_STAGES


@dataclass(frozen=True)
class LiquidRecipe:
    """A liquid-methanol reference: system, dynamics, validation targets and chunk counts.

    Units: K, g/cm³, Å, fs, 1/ps, bar, ps. ``temperatures`` are run in the order given (the training
    temperature first, so a partial build is already useful).
    """

    name: str
    description: str
    temperatures: tuple[float, ...]
    n_molecules: int = 256
    start_density: float = 0.5
    cutoff: float = 10.0
    timestep: float = 2.0
    hydrogen_mass: float | None = None  # amu (hydrogen mass repartitioning), None: the force field's masses
    friction: float = 1.0
    pressure: float = 1.0
    frame_interval: float = 0.5
    chunk_frames: int = 50
    compress_chunks: int = 2
    validate_chunks: int = 4
    npt_equilibrate_chunks: int = 2
    npt_average_chunks: int = 4
    nvt_chunks: int = 1
    production_chunks: int = 10
    atomistic_frames: int = 5
    minimise_iterations: int = 200
    validation_temperature: float = 298.15
    experimental_density: float = 0.787  # methanol at 298.15 K, g/cm³ (CRC Handbook)
    density_tolerance: float = 0.03  # relative
    oxygen_peak_window: tuple[float, float] = (2.6, 2.9)  # Å; experiment (X-ray, neutron) puts it at 2.7-2.8 Å
    seed: int = 2027

    def check(self) -> None:
        """Raise :class:`MLIPLabError` for settings no build can run with."""
        if not self.temperatures:
            raise MLIPLabError(f"recipe {self.name!r} has no temperatures; give the production temperatures in K")
        if any(not t > 0 for t in self.temperatures) or len(set(self.temperatures)) != len(self.temperatures):
            raise MLIPLabError(f"recipe {self.name!r}: temperatures must be distinct and positive (K), got {self.temperatures}")
        counts = {k: getattr(self, k) for k in ("n_molecules", "chunk_frames", "compress_chunks", "validate_chunks",
                                                "npt_average_chunks", "nvt_chunks", "production_chunks")}
        if any(v < 1 for v in counts.values()):
            raise MLIPLabError(f"recipe {self.name!r}: these counts must be at least 1: {counts}")
        if not 1 <= self.atomistic_frames <= self.production_chunks:
            raise MLIPLabError(f"recipe {self.name!r}: atomistic_frames (one per production chunk at most) must be "
                               f"1..{self.production_chunks}, got {self.atomistic_frames}")
        steps = self.frame_interval * 1000.0 / self.timestep
        if abs(steps - round(steps)) > 1e-9 or steps < 1:
            raise MLIPLabError(f"recipe {self.name!r}: frame_interval {self.frame_interval} ps is not a whole number of "
                               f"{self.timestep} fs steps")

    @property
    def steps_per_frame(self) -> int:
        return round(self.frame_interval * 1000.0 / self.timestep)

    @property
    def chunk_ps(self) -> float:
        return self.chunk_frames * self.frame_interval

    def plan(self) -> list[Chunk]:
        """Every chunk of the build, in the order they run."""
        self.check()
        chunks: list[Chunk] = []

        def add(stage, temperature, count, previous):
            for i in range(count):
                chunks.append(Chunk(stage, float(temperature), i, previous))
                previous = chunks[-1].key
            return previous

        last = add("compress", self.validation_temperature, self.compress_chunks, None)
        validated = add("validate", self.validation_temperature, self.validate_chunks, last)
        for t in self.temperatures:
            last = add("npt", t, self.npt_equilibrate_chunks + self.npt_average_chunks, validated)
            last = add("nvt", t, self.nvt_chunks, last)
            add("production", t, self.production_chunks, last)
        return chunks


RECIPES = {
    "cg_methanol": LiquidRecipe(
        name="cg_methanol",
        description=("Liquid methanol (256 molecules, all-atom OPLS-AA, OpenMM) at four temperatures (238-318 K), mapped to one "
                     "bead per molecule (centre of mass): bead positions and mapped forces for force matching."),
        # Training at 278 K, tests at -40, +20 and +40 K. Four temperatures, not five: each costs ~14 chunks
        # (~45 min on 2 cores), and four already span the 80 K the transferability test needs.
        temperatures=(278.0, 238.0, 318.0, 298.0),
        # Each temperature starts from the validated 298 K liquid: 25 ps to settle the new density, then 50 ps
        # (100 frames) averaged for it; the density's standard error over them is ~0.3 %, below the 3 % criterion.
        npt_equilibrate_chunks=1,
        npt_average_chunks=2,
        # Hydrogen mass repartitioning (3 amu) with 4 fs steps: measured on this box at 298 K over 4 ps, kinetic
        # temperature 297.8 ± 5.7 K and potential energy -24.50 ± 1.16 eV against 296.6 ± 6.5 K and -24.61 ± 0.95 eV
        # with standard masses at 2 fs, at 1.9x the simulated time per hour. Masses do not change the sampled
        # configurations or forces; the bead map uses the standard masses.
        timestep=4.0,
        hydrogen_mass=3.0,
    ),
}


def resolve(recipe: str | LiquidRecipe) -> LiquidRecipe:
    """A recipe by name (see :data:`RECIPES`) or as given; checked."""
    if isinstance(recipe, LiquidRecipe):
        recipe.check()
        return recipe
    if recipe not in RECIPES:
        raise MLIPLabError(f"unknown recipe {recipe!r}; choose one of {sorted(RECIPES)}")
    RECIPES[recipe].check()
    return RECIPES[recipe]
