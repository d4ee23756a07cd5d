"""The grid engine on the shipped rasters and on hand-made grids with known answers.

Stacks (nodata, grids, reprojection, pixel areas, CRS), exact zonal statistics into a Panel that
``identify`` and the report accept, GHSL built-up area, the core/periphery patterns, the
``compute.scheduler`` setting (threads and a distributed cluster give identical results), the
``shrinkwatch grid`` commands and the unverified-until-first-fetch registry entries.
"""

from __future__ import annotations

import glob
import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import rasterio
import shapely
from affine import Affine
from rasterio.warp import Resampling, calculate_default_transform, reproject

from shrinkwatch.core.errors import ChecksumError, DataError, NothingUsableError, OptionError
from shrinkwatch.grid.builtup import GHSL_EPOCHS, builtup_panel
from shrinkwatch.grid.compute import engine
from shrinkwatch.grid.stack import open_stack, pixel_area_km2, stack_from_array
from shrinkwatch.grid.zonal import read_zones, zonal_panel

from conftest import run_cli

pytest.importorskip("shrinkwatch.grid.trend")  # the kernel (helper grid-kernel) lands beside this module


@pytest.fixture(scope="module")
def grids(data_dir) -> Path:
    return data_dir / "grids"


@pytest.fixture(scope="module")
def worldpop(grids) -> list[Path]:
    return [Path(p) for p in sorted(glob.glob(str(grids / "worldpop_dr" / "ppp_*_1km_Aggregated.tif")))]


@pytest.fixture(scope="module")
def neiba(grids) -> Path:
    return grids / "worldpop_dr" / "sierra_de_neiba_478140.gpkg"


def _read(path: Path) -> tuple[np.ndarray, rasterio.profiles.Profile]:
    with rasterio.open(path) as src:
        return src.read(1, masked=True), src.profile


def _write(path: Path, array: np.ndarray, transform: Affine, crs: str, nodata: float | None = None) -> Path:
    with rasterio.open(path, "w", driver="GTiff", height=array.shape[0], width=array.shape[1], count=1,
                       dtype=array.dtype, crs=crs, transform=transform, nodata=nodata) as out:
        out.write(array, 1)
    return path


# ---------------------------------------------------------------- stacks

def test_worldpop_stack_totals_rise_to_2009_then_fall(worldpop):
    stack = open_stack(worldpop)
    assert stack.years == list(range(2000, 2021)) and stack.crs == "EPSG:4326" and stack.shape == (15, 57)
    by_hand = pd.Series([float(_read(p)[0].astype(np.float64).sum()) for p in worldpop], index=stack.years)
    totals = stack.totals()
    np.testing.assert_allclose(totals.to_numpy(), by_hand.to_numpy(), rtol=1e-6)
    assert totals.idxmax() == 2009
    assert (totals.loc[2000:2009].diff().dropna() > 0).sum() >= 6  # mostly rising before the peak
    assert totals.loc[2010:].max() < totals.loc[2009] and totals.loc[2016] < totals.loc[2009] * 0.9


def test_nighttime_lights_open_with_nodata_masked(grids):
    ols = open_stack([grids / "ntl_stp" / "NL_STP_OLS.Y_1992_STABLE_LIGHTS.tif"], kind="mean")
    values = np.asarray(ols.data.isel(year=0).values)
    raw, _ = _read(grids / "ntl_stp" / "NL_STP_OLS.Y_1992_STABLE_LIGHTS.tif")
    assert ols.years == [1992]
    assert int(np.isfinite(values).sum()) == int((~raw.mask).sum()) == 1178
    assert np.nanmin(values) == 0 and np.nanmax(values) == 16 and np.nansum(values) == 590
    viirs = open_stack([grids / "ntl_stp" / "NL_STP_VIIRS.M_201401_VCMCFG.tif"], kind="mean")
    layer = np.asarray(viirs.data.isel(year=0).values)
    assert viirs.years == [2014] and int(np.isfinite(layer).sum()) == 4681
    assert np.nanmin(layer) < 0  # radiance noise below zero is a value of a mean stack, not a fill


def test_stacks_on_different_grids_are_refused_unless_reprojected(grids):
    files = sorted((grids / "ntl_stp").glob("*.tif"))
    with pytest.raises(DataError, match=r"(?s)different grid.*--reproject"):
        open_stack(files, kind="mean")
    both = open_stack(files, kind="mean", reproject=True)
    assert both.years == [1992, 2014] and both.shape == (206, 120)
    assert any("resampled" in note for note in both.notes)


def test_counts_reprojected_with_sum_preserving_resampling(worldpop, neiba, tmp_path):
    """A peer's nearest-neighbour reprojection lost 45% of a city's population; sum resampling keeps it."""
    raw, profile = _read(worldpop[10])  # 2010
    source = raw.filled(np.nan).astype(np.float64)
    lost = {}
    for method, resolution in ((Resampling.nearest, 3000), (Resampling.sum, 3000), (Resampling.sum, 500)):
        with rasterio.open(worldpop[10]) as src:
            transform, width, height = calculate_default_transform(src.crs, "EPSG:32619", src.width, src.height,
                                                                   *src.bounds, resolution=resolution)
        out = np.full((height, width), np.nan)
        reproject(source, out, src_transform=profile["transform"], src_crs=profile["crs"], dst_transform=transform,
                  dst_crs="EPSG:32619", resampling=method, src_nodata=np.nan, dst_nodata=np.nan)
        lost[method.name, resolution] = 1 - np.nansum(out) / source.sum()
        if resolution == 500:
            coarse = _write(tmp_path / "utm_2010.tif", out.astype(np.float32), transform, "EPSG:32619", np.nan)
    assert lost["nearest", 3000] > 0.5 and abs(lost["sum", 3000]) < 1e-6  # the trap, and the remedy
    assert abs(lost["sum", 500]) < 0.01
    with pytest.raises(DataError, match="different grid"):
        open_stack([worldpop[9], coarse], years=[2009, 2010])
    stack = open_stack([worldpop[9], coarse], years=[2009, 2010], reproject=True)
    assert stack.totals()[2009] == pytest.approx(float(_read(worldpop[9])[0].sum()), rel=1e-6)
    # back on the 1 km geographic grid: the edge pixels' shares beyond the clip are lost, the inside is kept
    zones = read_zones(neiba, "WDPAID")
    back = zonal_panel(stack, zones, trend=False).panel.wide("pop_resident").loc["478140", 2010]
    original = zonal_panel(open_stack(worldpop[10:11]), zones, trend=False).panel.wide("pop_resident").iloc[0, 0]
    assert back == pytest.approx(original, rel=0.02)


def test_nodata_is_never_summed(tmp_path):
    """Declared -3.4e38 and undeclared -99999 (WorldPop) are masked; a zone half on nodata gets no value."""
    transform = Affine(100, 0, 0, 0, -100, 400)
    values = np.array([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, -3.4e38, -99999], [13, 14, 15, 16]], dtype=np.float32)
    paths = [_write(tmp_path / f"pop_{year}.tif", values * (1 + k), transform, "EPSG:3857", nodata=-3.4e38)
             for k, year in enumerate((2000, 2001))]
    stack = open_stack(paths)
    valid = np.isin(np.arange(16), [10, 11], invert=True).reshape(4, 4)
    assert stack.totals().tolist() == [float(values[valid].sum()), float(2 * values[valid].sum())]
    zones = gpd.GeoDataFrame({"id": ["all", "left"]}, geometry=[shapely.box(0, 0, 400, 400), shapely.box(0, 0, 200, 400)],
                             crs="EPSG:3857")
    result = zonal_panel(stack, read_zones(zones, "id"), trend=False, min_coverage=0.0)
    stats = result.stats.set_index(["unit_id", "year"])
    assert stats.loc[("all", 2000), "sum"] == pytest.approx(float(values[valid].sum()))
    assert stats.loc[("all", 2000), "covered_share"] == pytest.approx(14 / 16)
    assert stats.loc[("left", 2001), "sum"] == pytest.approx(2 * float(values[:, :2].sum()))
    strict = zonal_panel(stack, read_zones(zones, "id"), trend=False)  # 95%: the zone on nodata has no value
    wide = strict.panel.wide("pop_resident")
    assert wide.loc["all"].isna().all() and wide.loc["left"].notna().all()
    tallies = strict.panel.ledger.tallies
    assert tallies["unit-years with less than 95% of the polygon covered by valid pixels (no value)"] == 2
    assert any("all" in warning for warning in strict.panel.ledger.warnings)


def test_pixel_areas_on_a_geographic_grid_follow_latitude():
    transform = Affine(1 / 120, 0, 100.0, 0, -1 / 120, 60.0)
    area = pixel_area_km2(transform, (3, 2), "EPSG:4326")
    geod = pyproj.Geod(ellps="WGS84")
    cell = shapely.box(100.0, 60 - 1 / 120, 100 + 1 / 120, 60.0)
    expected = abs(geod.geometry_area_perimeter(cell)[0]) / 1e6
    assert area[0, 0] == pytest.approx(expected, rel=1e-6)
    equator = pixel_area_km2(Affine(1 / 120, 0, 0, 0, -1 / 120, 1 / 240), (1, 1), "EPSG:4326")[0, 0]
    assert area[0, 0] / equator == pytest.approx(np.cos(np.radians(60 - 1 / 240)), rel=0.015)  # ellipsoid, not sphere


def test_ghsl_mollweide_is_esri_54009(grids, tmp_path):
    assert open_stack([grids / "ghsl_built_dc" / "GHSL.tif"], years=[2030], kind="category").crs == "ESRI:54009"
    plain = _write(tmp_path / "moll_2020.tif", np.ones((2, 2), np.float32), Affine(1000, 0, 0, 0, -1000, 0),
                   "+proj=moll +lon_0=0 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs")
    stack = open_stack([plain])
    assert stack.crs == "ESRI:54009" and stack.pixel_area_km2()[0, 0] == 1.0


def test_years_and_files_hostile(worldpop, tmp_path):
    nameless = _write(tmp_path / "population.tif", np.ones((2, 2), np.float32), Affine(1, 0, 0, 0, -1, 2), "EPSG:3857")
    with pytest.raises(DataError, match="population.tif.*--years"):
        open_stack([nameless])
    with pytest.raises(DataError, match="year 2000 comes twice"):
        open_stack(worldpop[:2], years=[2000, 2000])
    with pytest.raises(DataError, match="2 year"):
        open_stack(worldpop[:3], years=[2000, 2001])
    bad = tmp_path / "pop_2001.tif"
    bad.write_text("not a raster")
    with pytest.raises(DataError, match="pop_2001.tif"):
        open_stack([bad])
    with pytest.raises(OptionError, match="kind"):
        open_stack(worldpop[:1], kind="volume")
    with pytest.raises(DataError, match="does not exist"):
        open_stack([tmp_path / "ppp_2030.tif"])


def test_netcdf_and_zarr_stacks_equal_the_geotiffs(worldpop, tmp_path):
    tiffs = open_stack(worldpop)
    cube = tiffs.data.load().to_dataset(name="population")
    cube.to_netcdf(tmp_path / "pop.nc", engine="scipy")  # NetCDF-3: no extra library
    from_nc = open_stack([tmp_path / "pop.nc"])
    assert from_nc.years == tiffs.years and from_nc.crs == "EPSG:4326"
    np.testing.assert_allclose(from_nc.totals().to_numpy(), tiffs.totals().to_numpy(), rtol=1e-9)
    pytest.importorskip("zarr")
    cube.to_zarr(tmp_path / "pop.zarr")
    np.testing.assert_allclose(open_stack([tmp_path / "pop.zarr"]).totals().to_numpy(), tiffs.totals().to_numpy(),
                               rtol=1e-9)


# ---------------------------------------------------------------- zonal statistics

def test_worldpop_zonal_totals_equal_exactextract_sums(worldpop, neiba):
    from exactextract import exact_extract

    result = zonal_panel(open_stack(worldpop), read_zones(neiba, "WDPAID"))
    panel = result.panel
    assert list(panel.units.index) == ["478140"] and panel.years == list(range(2000, 2021))
    assert panel.meta.units_of == {"pop_resident": "persons"}
    direct = exact_extract([str(p) for p in worldpop], gpd.read_file(neiba), "sum", output="pandas")
    np.testing.assert_allclose(panel.wide("pop_resident").loc["478140"].to_numpy(), direct.iloc[0].to_numpy(),
                               rtol=1e-6)
    unit = panel.units.loc["478140"]
    assert 0.98 < unit["covered_share_min"] <= 1  # the polygon reaches 0.003 degrees past the clip's edge
    assert 0 <= unit["decline_share"] <= 1 and unit["pixels_assessed"] == pytest.approx(unit["pixels"])
    assert unit["spatial_pattern"] in ("whole_unit_decline", "hollowing_core", "emptying_periphery", "perforated",
                                       "no_decline")
    assert panel.ledger.rows_read == 1 and panel.ledger.rows_accepted == 1


def test_decline_share_counts_the_kernels_declining_pixels(worldpop, neiba):
    from exactextract import exact_extract

    from shrinkwatch.grid.trend import pixel_trends

    result = zonal_panel(open_stack(worldpop), read_zones(neiba, "WDPAID"))
    cube = np.stack([_read(p)[0].filled(np.nan) for p in worldpop]).astype(np.float64)
    decline = pixel_trends(cube, np.arange(2000, 2021)).significant_decline(0.05).astype(np.float64)
    with rasterio.open(worldpop[0]) as src:
        transform = src.transform
    from exactextract.raster import NumPyRasterSource

    b = rasterio.transform.array_bounds(15, 57, transform)
    source = NumPyRasterSource(decline, *b, srs_wkt=pyproj.CRS("EPSG:4326").to_wkt())
    area = pixel_area_km2(transform, (15, 57), "EPSG:4326").copy()
    weights = NumPyRasterSource(area, *b, srs_wkt=pyproj.CRS("EPSG:4326").to_wkt())
    share = exact_extract(source, gpd.read_file(neiba), "weighted_mean", weights=weights, output="pandas")
    assert result.panel.units.loc["478140", "decline_share"] == pytest.approx(float(share.iloc[0, 0]), rel=1e-9)


def _rings_case(kind: str) -> tuple[np.ndarray, np.ndarray, gpd.GeoDataFrame]:
    """A 21 x 21 km square unit over 10 years, every pixel starting at 1,000: the centre (within 3 km of
    the middle) and the edge (beyond 8 km) change as ``kind`` says, the ring between stays put, so the
    core ring (within 0.5 x the equivalent radius, 5.9 km) follows the centre and the periphery the edge.
    Returns the values, the pixels expected in significant decline, and the zone."""
    step = np.arange(10)[:, None, None]
    yy, xx = np.mgrid[0:21, 0:21]
    distance = np.hypot(yy - 10, xx - 10)
    values = np.full((10, 21, 21), 1000.0)
    if kind == "perforated":  # 40% of the pixels fall steadily; the others rise to balance them, with noise
        rng = np.random.default_rng(7)
        holes = rng.random((21, 21)) < 0.4
        rise = 5.0 * holes.sum() / (~holes).sum()
        noise = rng.normal(0, 30, size=(10, 21, 21))
        values += np.where(holes, -5.0 * step, rise * step + noise)
        return values, holes, _square_zone()
    centre_slope = {"hollowing": -5, "emptying": 3, "whole": -5, "none": 2}[kind]
    edge_slope = {"hollowing": 3, "emptying": -5, "whole": -5, "none": 2}[kind]
    slope = np.where(distance <= 3, centre_slope, np.where(distance > 8, edge_slope, 0))
    values += slope * step
    return values, slope < 0, _square_zone()


def _square_zone() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": ["u"]}, geometry=[shapely.box(0, -21000, 21000, 0)], crs="EPSG:3857")


@pytest.mark.parametrize("kind,pattern", [("hollowing", "hollowing_core"), ("emptying", "emptying_periphery"),
                                          ("whole", "whole_unit_decline"), ("perforated", "perforated"),
                                          ("none", "no_decline")])
def test_core_periphery_patterns(kind, pattern):
    values, declining, zones = _rings_case(kind)
    stack = stack_from_array(values, range(2000, 2010), Affine(1000, 0, 0, 0, -1000, 0), "EPSG:3857")
    result = zonal_panel(stack, read_zones(zones, "id"))
    unit = result.panel.units.loc["u"]
    assert unit["spatial_pattern"] == pattern
    if kind == "perforated":  # the holes, and perhaps a few noisy pixels
        assert declining.mean() <= unit["decline_share"] < declining.mean() + 0.05
    else:
        assert unit["decline_share"] == pytest.approx(declining.mean(), abs=1e-9)  # equal pixels: a plain share
    assert (unit["centre_x"], unit["centre_y"]) == pytest.approx((10500, -10500), abs=500)


def test_zones_hostile_rows_are_accounted_for(tmp_path):
    bowtie = shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])
    frame = gpd.GeoDataFrame({"code": ["a", "b", "b", None, "c", "d"]},
                             geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 1, 2, 2), shapely.box(0, 0, 2, 2),
                                       shapely.box(0, 0, 1, 1), shapely.Point(1, 1), bowtie], crs="EPSG:3857")
    path = tmp_path / "zones.gpkg"
    frame.to_file(path)
    zones = read_zones(path, "code")
    ledger = zones.ledger
    assert (ledger.rows_read, ledger.rows_accepted, ledger.rows_rejected) == (6, 3, 3)
    reasons = dict(zip(ledger.rejected["row"], ledger.rejected["reason"]))
    assert reasons == {3: "duplicate unit id (the first row with it is used)", 4: "no unit id", 5: "not a polygon"}
    assert list(zones.frame.index) == ["a", "b", "d"] and zones.frame.geometry.is_valid.all()
    assert ledger.cell_actions["action"].tolist() == ["invalid polygon repaired (shapely make_valid)"]
    with pytest.raises(DataError, match="--id-field 'nope'.*columns: code"):
        read_zones(path, "nope")
    with pytest.raises(DataError, match="neither a file nor a registered dataset"):
        read_zones(tmp_path / "missing.gpkg")
    with pytest.raises(NothingUsableError):
        read_zones(frame.iloc[[4]], "code")


def test_zonal_options_hostile(worldpop, neiba):
    stack, zones = open_stack(worldpop[:2]), read_zones(neiba, "WDPAID")
    with pytest.raises(OptionError, match="not a canonical indicator"):
        zonal_panel(stack, zones, indicator="people")
    with pytest.raises(OptionError, match="--stat"):
        zonal_panel(stack, zones, stat="median")
    with pytest.raises(OptionError, match="--min-coverage"):
        zonal_panel(stack, zones, min_coverage=1.5)
    with pytest.raises(OptionError, match="compute.scheduler"):
        zonal_panel(stack, zones, scheduler="cluster")


# ---------------------------------------------------------------- GHSL built-up area

def test_ghsl_builtup_per_epoch_equals_pixel_counts(grids):
    path = grids / "ghsl_built_dc" / "GHSL.tif"
    stack = open_stack([path], years=[2030], kind="category")
    raw, profile = _read(path)
    counts = [int(((raw.data <= epoch) & ~raw.mask).sum()) for epoch in GHSL_EPOCHS]
    with rasterio.open(path) as src:
        extent = shapely.box(*src.bounds)
    whole = gpd.GeoDataFrame({"id": ["extent"]}, geometry=[extent], crs=stack.data.rio.crs.to_wkt())
    aoi = gpd.read_file(grids / "ghsl_built_dc" / "AOI_GHSL.geojson")
    both = pd.concat([whole, aoi.to_crs(whole.crs).assign(id="aoi")], ignore_index=True)
    panel = builtup_panel(stack, read_zones(both, "id")).panel
    built = panel.wide("builtup_km2")
    np.testing.assert_allclose(built.loc["extent"].to_numpy(), np.array(counts) * 0.01, rtol=1e-9)  # 1 ha cells
    assert (np.diff(built.loc["aoi"].to_numpy()) >= 0).all() and (built.loc["aoi"] <= built.loc["extent"]).all()
    assert built.loc["aoi", 1975] > 3000 and panel.meta.units_of["builtup_km2"] == "km2"


def test_builtup_refuses_a_raster_that_is_not_epochs(worldpop, neiba):
    stack = open_stack(worldpop[:1], kind="category")
    with pytest.raises(DataError, match="not an 'epoch first built' raster"):
        builtup_panel(stack, read_zones(neiba, "WDPAID"))


def test_builtup_over_census_prefectures_keeps_their_population(grids):
    """`grid builtup --zones cn-prefecture-census`: the zones' census values are kept; the DC clip covers no
    prefecture, so every unit's built-up area is missing (insufficient), never 0."""
    zones = read_zones("cn-prefecture-census")
    assert zones.panel is not None and len(zones.frame) == zones.ledger.rows_accepted
    stack = open_stack([grids / "ghsl_built_dc" / "GHSL.tif"], years=[2030], kind="category")
    panel = builtup_panel(stack, zones, source_panel=zones.panel).panel
    assert {"builtup_km2", "pop_resident"} <= set(panel.indicators)
    assert panel.values["builtup_km2"].isna().all()
    assert panel.values["pop_resident"].notna().sum() == zones.panel.values["pop_resident"].notna().sum()
    assert panel.ledger.tallies["zones with no pixel of the stack"] == len(zones.frame)
    assert panel.meta.language == zones.panel.meta.language


# ---------------------------------------------------------------- compute.scheduler

@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp",
                                  dashboard_address=None) as running:
        yield running


def test_threads_and_a_dask_cluster_give_identical_results(worldpop, neiba, cluster):
    from distributed import get_task_stream

    stack, zones = open_stack(worldpop), read_zones(neiba, "WDPAID")
    threads = zonal_panel(stack, zones, scheduler="threads")
    assert cluster.scheduler_address.startswith("tcp://")
    with engine(cluster.scheduler_address) as remote, get_task_stream(remote.client) as tasks:
        on_cluster = zonal_panel(stack, zones, running=remote)
    assert len(tasks.data) >= len(stack.years)  # the tasks really ran on the cluster's workers
    assert "2 worker(s)" in on_cluster.engine
    pd.testing.assert_frame_equal(threads.panel.values, on_cluster.panel.values, check_exact=True)
    pd.testing.assert_frame_equal(threads.stats, on_cluster.stats, check_exact=True)
    columns = ["decline_share", "spatial_pattern", "core_slope", "periphery_slope"]
    pd.testing.assert_frame_equal(pd.DataFrame(threads.panel.units[columns]),
                                  pd.DataFrame(on_cluster.panel.units[columns]), check_exact=True)


def test_local_setting_starts_a_distributed_local_cluster(worldpop, neiba):
    stack, zones = open_stack(worldpop[:4]), read_zones(neiba, "WDPAID")
    with engine("local", workers=1, processes=False) as local:
        assert local.client is not None and "LocalCluster" in local.description
        result = zonal_panel(stack, zones, running=local)
    reference = zonal_panel(stack, zones, scheduler="threads")
    pd.testing.assert_frame_equal(result.panel.values, reference.panel.values, check_exact=True)


def test_unreachable_cluster_is_a_clear_error():
    with pytest.raises(OptionError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        with engine("tcp://127.0.0.1:9", timeout="1s"):
            pass


# ---------------------------------------------------------------- the commands

def test_grid_zonal_panel_flows_through_identify_and_the_report(worldpop, neiba, tmp_path):
    out = tmp_path / "neiba.parquet"
    done = run_cli(*["grid", "zonal", *map(str, worldpop), "--zones", str(neiba), "--id-field", "WDPAID",
                    "-o", str(out)])
    assert done.returncode == 0, (done.stdout + done.stderr)
    assert "wrote" in (done.stdout + done.stderr) and "1 unit(s), 21 year(s) 2000-2020" in (done.stdout + done.stderr)
    assert (tmp_path / "neiba.ledger.csv").is_file()
    stats = pd.read_csv(tmp_path / "neiba.zonal.csv")
    assert len(stats) == 21 and set(stats.columns) >= {"sum", "mean", "count", "covered_share"}
    identified = run_cli(*["identify", "--dataset", str(out), "--standard", "consecutive-decline"])
    assert identified.returncode == 0, (identified.stdout + identified.stderr)
    assert "478140" in (identified.stdout + identified.stderr) and "1 units with data" in (identified.stdout + identified.stderr)
    from shrinkwatch import pipeline

    outputs = pipeline.run(str(out), "consecutive-decline", {}, out_dir=tmp_path / "report", analysis=False)
    html = outputs["report.html"].read_text(encoding="utf-8")
    assert "478140" in html and json.loads(outputs["summary.json"].read_text())["counts"]["units_total"] == 1


def test_grid_trend_writes_the_kernels_rasters(worldpop, tmp_path):
    from shrinkwatch.grid.trend import pixel_trends

    done = run_cli(*["grid", "trend", *map(str, worldpop), "-o", str(tmp_path / "trend")])
    assert done.returncode == 0, (done.stdout + done.stderr)
    cube = np.stack([_read(p)[0].filled(np.nan) for p in worldpop]).astype(np.float64)
    expected = pixel_trends(cube, np.arange(2000, 2021))
    decline, _ = _read(tmp_path / "trend" / "decline.tif")
    assert int((decline == 1).sum()) == int(expected.significant_decline().sum())
    assert f"{int(expected.significant_decline().sum())} in significant decline" in (done.stdout + done.stderr)
    slope, profile = _read(tmp_path / "trend" / "slope.tif")
    np.testing.assert_allclose(slope.filled(np.nan), expected.slope, rtol=1e-6)
    assert profile["crs"].to_string() == "EPSG:4326"


def test_grid_builtup_command_on_the_ghsl_clip(grids, tmp_path):
    out = tmp_path / "dc.parquet"
    done = run_cli(*["grid", "builtup", str(grids / "ghsl_built_dc" / "GHSL.tif"), "--zones",
                    str(grids / "ghsl_built_dc" / "AOI_GHSL.geojson"), "-o", str(out)])
    assert done.returncode == 0, (done.stdout + done.stderr)
    assert "12 year(s) 1975-2030, indicator(s) builtup_km2" in (done.stdout + done.stderr)


def test_grid_commands_hostile(worldpop, neiba, tmp_path):
    bad_scheduler = run_cli(*["grid", "zonal", str(worldpop[0]), "--zones", str(neiba), "-o", str(tmp_path / "a.parquet"),
                             "--scheduler", "mainframe"])
    assert bad_scheduler.returncode == 2 and "compute.scheduler" in (bad_scheduler.stdout + bad_scheduler.stderr)
    bad_suffix = run_cli(*["grid", "zonal", str(worldpop[0]), "--zones", str(neiba), "-o", str(tmp_path / "a.csv")])
    assert bad_suffix.returncode == 2 and "must end in .parquet" in (bad_suffix.stdout + bad_suffix.stderr)
    missing = run_cli(*["grid", "zonal", str(tmp_path / "ppp_2000.tif"), "--zones", str(neiba), "-o",
                       str(tmp_path / "a.parquet")])
    assert missing.returncode == 2 and "does not exist" in (missing.stdout + missing.stderr)
    bad_years = run_cli(*["grid", "trend", str(worldpop[0]), "--years", "two thousand", "-o", str(tmp_path / "t")])
    assert bad_years.returncode == 2 and "--years" in (bad_years.stdout + bad_years.stderr)


def _english_words(text: str, *paths: Path) -> list[str]:
    """Words of three or more Latin letters in console output beyond what a Chinese message may keep (units, ids,
    option, file and proper names: the catalogue test's allowed pattern), once the given paths are taken out."""
    from test_messages import _LATIN_ALLOWED

    for path in sorted(map(str, paths), key=len, reverse=True):
        text = text.replace(path, "")
    return re.findall(r"[a-z]{3,}", _LATIN_ALLOWED.sub("", re.sub(r"\S+\.tif\b", "", text)))


def test_grid_commands_in_chinese(worldpop, neiba, grids, tmp_path):
    """`grid trend|zonal|builtup --lang zh` say everything in Chinese: progress, notes, the ledger, the patterns;
    the numbers are the English run's."""
    from shrinkwatch.core.messages import message
    from shrinkwatch.core.panelfile import read_panel

    trend = run_cli(*["grid", "trend", *map(str, worldpop), "-o", str(tmp_path / "trend"), "--lang", "zh"])
    said = trend.stdout + trend.stderr
    assert trend.returncode == 0, said
    decline, _ = _read(tmp_path / "trend" / "decline.tif")
    assert f"{int((decline == 1).sum())} 个显著下降（p < 0.05）" in said and "计算引擎：本进程内的 Dask 线程" in said
    assert "注：负值不是计数，按无数据处理" in said
    assert not _english_words(said, tmp_path, grids), said

    out = tmp_path / "neiba.parquet"
    zonal = run_cli(*["grid", "zonal", *map(str, worldpop), "--zones", str(neiba), "--id-field", "WDPAID",
                      "-o", str(out), "--lang", "zh"])
    said = zonal.stdout + zonal.stderr
    assert zonal.returncode == 0, said
    assert "1 个单元，21 个年份 2000-2020" in said and "读取 1 行：接受 1 行，拒绝 0 行" in said
    pattern = read_panel(out).units["spatial_pattern"].iloc[0]
    assert f"空间格局：{message(f'grid.pattern.{pattern}', 'zh')} 1 个" in said
    assert "逐像元趋势：2000-2020 年间" in said and "有效像元覆盖面积不足多边形 95% 的单元年份（无数值）：0" in said
    assert not _english_words(said, tmp_path, grids), said

    built = run_cli(*["grid", "builtup", str(grids / "ghsl_built_dc" / "GHSL.tif"), "--zones",
                      str(grids / "ghsl_built_dc" / "AOI_GHSL.geojson"), "-o", str(tmp_path / "dc.parquet"),
                      "--lang", "zh"])
    said = built.stdout + built.stderr
    assert built.returncode == 0, said
    assert "12 个年份 1975-2030，指标 builtup_km2" in said and "建成区面积来自 GHSL“首次建成时期”栅格" in said
    assert not _english_words(said, tmp_path, grids), said

    for command in (["trend", str(worldpop[0]), "-o", str(tmp_path / "t")],
                    ["zonal", str(worldpop[0]), "--zones", str(neiba), "-o", str(tmp_path / "a.parquet")],
                    ["builtup", str(grids / "ghsl_built_dc" / "GHSL.tif"), "--zones", str(neiba),
                     "-o", str(tmp_path / "b.parquet")]):
        bad = run_cli("grid", *command, "--lang", "fr")
        assert bad.returncode == 2 and bad.stderr.strip() == "error: --lang: expected one of en, zh, got 'fr'", bad.stderr
        assert not bad.stdout.strip()


def test_zonal_ledger_and_notes_are_stored_in_english_and_said_in_chinese(tmp_path):
    """The zonal ledger keeps the catalogue's English (tallies, warnings, reasons, repairs) and says it in Chinese;
    the hand-made zone half on nodata is counted and named in both."""
    from shrinkwatch.core.messages import NOTE_TABLES, translate_all

    transform = Affine(100, 0, 0, 0, -100, 400)
    values = np.arange(1, 17, dtype=np.float32).reshape(4, 4)
    values[2, 2:] = -99999
    paths = [_write(tmp_path / f"pop_{year}.tif", values * (1 + k), transform, "EPSG:3857")
             for k, year in enumerate((2000, 2001, 2002))]
    bowtie = shapely.Polygon([(0, 0), (400, 400), (400, 0), (0, 400)])
    zones = gpd.GeoDataFrame({"id": ["A1", "L2", "L2", "F3", "B4"]},
                             geometry=[shapely.box(0, 0, 400, 400), shapely.box(0, 0, 200, 400),
                                       shapely.box(0, 0, 100, 100), shapely.box(5000, 5000, 5100, 5100), bowtie],
                             crs="EPSG:3857")
    panel = zonal_panel(open_stack(paths), read_zones(zones, "id")).panel
    english, chinese = panel.ledger.summary(), panel.ledger.summary(lang="zh")
    assert "unit-years with less than 95% of the polygon covered by valid pixels (no value): 6" in english
    assert "有效像元覆盖面积不足多边形 95% 的单元年份（无数值）：6" in chinese
    assert "1 个分区不含栅格的任何像元（各年均无数值）：F3" in chinese
    assert "单元编号重复（使用首次出现的行）" in chinese and "无效多边形已修复（make_valid）" in chinese
    assert not _english_words(chinese), chinese
    notes = translate_all(list(panel.meta.notes), NOTE_TABLES, "zh").tolist()
    assert len(notes) == 4 and all(re.search(r"[\u4e00-\u9fff]", n) for n in notes), notes
    assert not _english_words("\n".join(notes)), notes


def test_chinese_report_of_a_zonal_panel_says_its_notes_in_chinese(worldpop, neiba, tmp_path):
    """`run --dataset ZONAL_PANEL --lang zh`: the grid stage's notes (stored in English) appear in Chinese in the
    report, none left in English nor counted as English-only."""
    import html

    from shrinkwatch.core.messages import NOTE_TABLES, message, translate_all
    from shrinkwatch.core.panelfile import read_panel

    out = tmp_path / "neiba.parquet"
    made = run_cli(*["grid", "zonal", *map(str, worldpop), "--zones", str(neiba), "--id-field", "WDPAID",
                     "-o", str(out)])
    assert made.returncode == 0, made.stdout + made.stderr
    done = run_cli(*["run", "--dataset", str(out), "--standard", "consecutive-decline", "--lang", "zh",
                     "--no-analysis", "--no-store", "--out", str(tmp_path / "report")])
    assert done.returncode == 0, done.stdout + done.stderr
    page = html.unescape((tmp_path / "report" / "report.html").read_text(encoding="utf-8"))
    stored = list(read_panel(out).meta.notes)
    assert len(stored) == 4 and any(n.startswith("Core: pixels within 0.5 x") for n in stored)
    for note, said in zip(stored, translate_all(stored, NOTE_TABLES, "zh")):
        assert said != note and said in page and note not in page, note
    assert "核心区：距单元人口加权中心不超过其等效半径 0.5 倍的像元" in page
    assert message("datasets.notes.english_only", "zh", n=1).split("1")[-1] not in page


# ---------------------------------------------------------------- registry: unverified until first fetch

def test_unpinned_file_is_recorded_at_first_fetch_and_verified_after(worldpop, tmp_path):
    from shrinkwatch.datasets import registry

    dataset = registry.Dataset(id="test-unpinned-raster", title="t", licence="CC BY 4.0", citation="c",
                               publisher_url="https://example.org", raster=True,
                               files=(registry.DataFile("grids/t/ppp_2000.tif", "", worldpop[0].as_uri()),))
    registry.register(dataset)
    try:
        target = tmp_path / "data"
        info = run_cli(*["data", "info", dataset.id, "--data-dir", str(tmp_path)])
        assert "unverified: no sha256 is registered" in (info.stdout + info.stderr)
        paths = registry.fetch([dataset.id], target)
        record = paths[0].with_name("ppp_2000.tif.sha256")
        assert record.read_text().split()[0] == registry.sha256_of(worldpop[0])
        assert registry.verify(dataset.id, target) == paths
        info = run_cli(*["data", "info", dataset.id, "--data-dir", str(target)])
        assert "recorded at first fetch; verified on every use" in (info.stdout + info.stderr)
        paths[0].write_bytes(paths[0].read_bytes() + b"x")
        with pytest.raises(ChecksumError, match="recorded at first fetch"):
            registry.verify(dataset.id, target)
    finally:
        registry.REGISTRY.pop(dataset.id)


def test_grid_sources_are_registered_with_licence_and_citation(data_dir):
    from shrinkwatch.datasets import get_dataset, verify

    for dataset_id, count in (("ghsl-built-s", 12), ("ghsl-pop", 12), ("worldpop-cn", 21)):
        dataset = get_dataset(dataset_id)
        assert dataset.raster and len(dataset.files) == count and not any(f.pinned for f in dataset.files)
        assert dataset.licence.startswith("CC BY 4.0") and "doi:10." in dataset.citation
    assert [int(f.path.split("_E")[1][:4]) for f in get_dataset("ghsl-pop").files] == list(GHSL_EPOCHS)
    for clip in ("grid-worldpop-dr", "grid-ghsl-built-dc", "grid-ntl-stp"):  # the shipped clips are pinned
        assert len(verify(clip, data_dir)) == len(get_dataset(clip).files)
