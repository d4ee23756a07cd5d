"""Built-up area per unit and epoch from GHSL, for the Tapio land-population state and cn-2025's land criterion.

Two kinds of GHSL raster give it:

- **epoch first built** (one raster; a cell holds the epoch, 1975 ... 2030, in which it was first
  built, 65535 never): the built area at epoch ``E`` is the area of the cells whose value is at
  most ``E``, so it can only grow (:func:`builtup_stack` ``mode="epoch"``);
- **built-up surface** (GHS-BUILT-S, one raster per epoch, square metres of built surface per
  cell): the built area is the sum of the surfaces (``mode="surface"``, m2 converted to km2).

Either becomes a ``count`` stack of built km2 per pixel, and :func:`builtup_panel` sums it over
the zones exactly (:mod:`shrinkwatch.grid.zonal`) into the ``builtup_km2`` indicator. Zones taken
from a registered dataset keep that dataset's own indicators beside it (the census population of
``cn-prefecture-census`` with GHSL's 2010 and 2020 built-up area), so the expansion paradox and
``cn-2025`` read both from one panel.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from shrinkwatch.core import Panel
from shrinkwatch.core.errors import DataError, OptionError
from shrinkwatch.core.messages import message
from shrinkwatch.grid.compute import Engine, engine
from shrinkwatch.grid.stack import Stack
from shrinkwatch.grid.zonal import ZonalResult, Zones, zonal_panel

__all__ = ["GHSL_EPOCHS", "MODES", "builtup_stack", "builtup_panel"]

#: the epochs of GHSL R2023A (2025 and 2030 are projections)
GHSL_EPOCHS = tuple(range(1975, 2031, 5))
MODES = ("auto", "epoch", "surface")

# the notes this module adds are the catalogues' English ([grid.note]), said in the reader's language on display
_MESSAGES = {
    "mode": "grid builtup: --mode must be one of {modes}, got {value!r}",
    "epoch_layers": "grid builtup: an 'epoch first built' raster is one layer; got {n} ({sources})",
    "not_epochs": "grid builtup: {source} is not an 'epoch first built' raster: it holds {values} besides the epochs "
                  "{first}-{last}; for GHS-BUILT-S surfaces (m2 per cell) give one raster per epoch with --mode surface",
}


def builtup_stack(stack: Stack, mode: str = "auto", epochs: Sequence[int] = GHSL_EPOCHS,
                  running: Engine | None = None) -> Stack:
    """A ``count`` stack of built km2 per pixel at every epoch (see the module docstring).

    ``mode="auto"`` takes a one-layer stack as 'epoch first built' and a series as surfaces.
    An 'epoch first built' raster is checked: every valid value must be one of ``epochs``.
    """
    if mode not in MODES:
        raise OptionError(_MESSAGES["mode"].format(modes=", ".join(MODES), value=mode))
    if mode == "auto":
        mode = "epoch" if len(stack.years) == 1 else "surface"
    area = xr.DataArray(np.asarray(stack.pixel_area_km2()), dims=("y", "x"),
                        coords={"y": stack.data["y"], "x": stack.data["x"]})
    if mode == "surface":
        data = (stack.data / 1e6).astype(np.float64)
        note = message("grid.note.surface", "en", source=", ".join(_names(stack)))
        return Stack(data.rio.write_crs(stack.data.rio.crs), "count", stack.sources, stack.notes + (note,))
    if len(stack.years) != 1:
        raise DataError(_MESSAGES["epoch_layers"].format(n=len(stack.years), sources=", ".join(_names(stack))))
    layer = stack.data.isel(year=0, drop=True)
    with (engine("threads") if running is None else _same(running)) as running_engine:
        (found,) = running_engine.compute(layer.data)
    values = np.unique(np.asarray(found)[np.isfinite(found)])
    foreign = np.setdiff1d(values, np.asarray(epochs, dtype=values.dtype))
    if foreign.size:
        shown = ", ".join(f"{v:g}" for v in foreign[:8]) + (" ..." if foreign.size > 8 else "")
        raise DataError(_MESSAGES["not_epochs"].format(source=_names(stack)[0], values=shown, first=epochs[0],
                                                       last=epochs[-1]))
    layers = [((layer <= epoch) * area).astype(np.float64) for epoch in epochs]  # NaN (never built) <= E is False
    data = xr.concat(layers, dim="year").assign_coords(year=list(epochs)).chunk({"year": 1})
    data = data.rio.write_crs(stack.data.rio.crs).rio.write_transform(stack.transform)
    note = message("grid.note.epoch", "en", source=_names(stack)[0])
    return Stack(data, "count", stack.sources, stack.notes + (note,))


class _same:
    """An engine already running, as a context manager (not closed on leaving)."""

    def __init__(self, running: Engine) -> None:
        self.running = running

    def __enter__(self) -> Engine:
        return self.running

    def __exit__(self, *exc: object) -> None:
        return None


def _names(stack: Stack) -> list[str]:
    from pathlib import Path  # only for display

    return [Path(s).name for s in stack.sources]


def builtup_panel(stack: Stack, zones: Zones, *, mode: str = "auto", epochs: Sequence[int] = GHSL_EPOCHS,
                  min_coverage: float = 0.95, scheduler: str | None = None, running: Engine | None = None,
                  source_panel: Panel | None = None,
                  progress: Callable[[str], None] | None = None) -> ZonalResult:
    """``builtup_km2`` per zone and epoch; with ``source_panel`` (the dataset the zones came from)
    its own indicators are kept beside it."""
    if running is None:
        with engine(scheduler) as started:
            return builtup_panel(stack, zones, mode=mode, epochs=epochs, min_coverage=min_coverage, running=started,
                                 source_panel=source_panel, progress=progress)
    frame = zones.frame.to_crs(stack.data.rio.crs.to_wkt())
    built = builtup_stack(stack.clip(frame.total_bounds), mode, epochs, running)
    result = zonal_panel(built, zones, indicator="builtup_km2", stat="sum", min_coverage=min_coverage, trend=False,
                         running=running, progress=progress)
    if source_panel is None:
        return result
    return dataclasses.replace(result, panel=_with_source_values(result.panel, source_panel))


def _with_source_values(panel: Panel, source: Panel) -> Panel:
    """``panel`` (builtup_km2) joined with the source dataset's values on unit and year (outer: no year lost)."""
    other = source.values.drop(columns=[c for c in panel.values.columns if c in source.values.columns])
    other = other[other.index.get_level_values("unit_id").isin(panel.units.index)]
    values = panel.values.join(other, how="outer").sort_index()
    units_of = {**dict(source.meta.units_of), **dict(panel.meta.units_of)}
    note = message("grid.note.values_kept", "en", dataset=source.id, indicators=", ".join(map(str, other.columns)))
    meta = dataclasses.replace(panel.meta, units_of=units_of, notes=panel.meta.notes + (note,),
                               census_years=source.meta.census_years,
                               boundary_breaks=source.meta.boundary_breaks,
                               benchmark=source.meta.benchmark)
    values.index = pd.MultiIndex.from_arrays([values.index.get_level_values(0).astype(str),
                                              values.index.get_level_values(1).astype(int)], names=["unit_id", "year"])
    return Panel(panel.units, values, meta, panel.ledger)
