"""Saved what-if scenarios: one JSON file per scenario in the data folder's `scenarios/`.

A file is the scenario file of whatif.md ("Command line"), so `o2c whatif --scenario` runs
exactly what the studio saved.
"""

from __future__ import annotations

from pathlib import Path

from dashboard.store.snapshots import DataDir
from dashboard.whatif.model import Scenario, ScenarioError, load_scenario
from dashboard.workbench.identity import User


def slug(name: str) -> str:
    """A file name from a scenario name: never a path (no '/', '..' or hidden files)."""
    s = "".join(ch if ch.isalnum() or ch in "-_ " else "-" for ch in name.strip()).strip().replace(" ", "_")
    return (s.lstrip("._-") or "scenario")[:80]


def scenario_dir(data_root: Path) -> Path:
    return Path(data_root) / "scenarios"


def save_scenario(data_root: Path, sc: Scenario, user: User | None = None, snapshot_id: str | None = None) -> Path:
    """Write the scenario as `scenarios/<slug>.json` (atomically: a reader never sees half a file), and record it."""
    d = scenario_dir(data_root)
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{slug(sc.name)}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(sc.model_dump_json(indent=2, exclude_none=True), encoding="utf-8")
    tmp.replace(path)
    DataDir(Path(data_root)).record("scenario.save", "scenario", sc.name, user, snapshot_id, {"file": path.name, "scenario": sc.model_dump(exclude_none=True)})
    return path


def _files(data_root: Path) -> list[Path]:
    d = scenario_dir(data_root)
    return sorted(d.glob("*.json")) if d.exists() else []


def list_scenarios(data_root: Path) -> dict[str, Path]:
    """Saved scenarios that validate, by name (a hand-edited file that no longer does is not offered)."""
    out = {}
    for p in _files(data_root):
        try:
            out[load_scenario(p).name] = p
        except ScenarioError:
            continue
    return out


def unusable_scenarios(data_root: Path) -> dict[str, list[str]]:
    """Files in `scenarios/` that do not validate, by file name, with what is wrong (for the page to say so)."""
    out = {}
    for p in _files(data_root):
        try:
            load_scenario(p)
        except ScenarioError as exc:
            out[p.name] = exc.details
    return out


def load_saved(data_root: Path, name: str) -> Scenario | None:
    path = list_scenarios(data_root).get(name)
    return load_scenario(path) if path else None


def duplicate_scenario(data_root: Path, name: str, user: User | None = None, snapshot_id: str | None = None) -> Path | None:
    """Save a copy of a saved scenario as '<name> (copy)'."""
    src = load_saved(data_root, name)
    return save_scenario(data_root, src.model_copy(update={"name": f"{src.name} (copy)"}), user, snapshot_id) if src else None


def delete_scenario(data_root: Path, name: str, user: User | None = None, snapshot_id: str | None = None) -> None:
    path = list_scenarios(data_root).get(name)
    if path:
        kept = load_scenario(path).model_dump(exclude_none=True)
        path.unlink()
        # the deleted scenario stays readable in the trail
        DataDir(Path(data_root)).record("scenario.delete", "scenario", name, user, snapshot_id, {"file": path.name, "scenario": kept})
