"""Settings without a file are built without pydantic's validation (settings.defaults, the fast path of a
fresh `o2c kpis`): they must be exactly what a validated Settings() is, nested tables included, and a
settings file must still be checked."""

import pytest
from pydantic import BaseModel, ValidationError

from dashboard.settings import Settings, SettingsError, defaults, load_settings


def _same(a: BaseModel, b: BaseModel, where: str = "") -> None:
    assert type(a) is type(b), where
    for name in type(a).model_fields:
        x, y = getattr(a, name), getattr(b, name)
        assert type(x) is type(y), f"{where}{name}: {type(x)} vs {type(y)}"
        if isinstance(x, BaseModel):
            _same(x, y, f"{where}{name}.")
        elif isinstance(x, (list, tuple)):
            assert len(x) == len(y), f"{where}{name}"
            for i, (xi, yi) in enumerate(zip(x, y)):
                if isinstance(xi, BaseModel):
                    _same(xi, yi, f"{where}{name}[{i}].")
                else:
                    assert xi == yi and type(xi) is type(yi), f"{where}{name}[{i}]"
        else:
            assert x == y, f"{where}{name}: {x!r} vs {y!r}"


def test_defaults_are_a_validated_settings_object(tmp_path, monkeypatch):
    monkeypatch.delenv("O2C_SETTINGS", raising=False)
    validated = Settings()
    fast = defaults()
    _same(fast, validated)
    assert fast == validated
    assert fast.model_fields_set == validated.model_fields_set == set()  # nothing counts as set by the user
    assert fast.model_dump() == validated.model_dump()
    assert fast.bucket_names == validated.bucket_names
    loaded = load_settings(tmp_path)  # no settings.toml here
    assert loaded == validated
    with pytest.raises(ValidationError):  # still frozen
        loaded.dso_window_days = 30  # type: ignore[misc]


def test_a_settings_file_is_still_checked(tmp_path, monkeypatch):
    monkeypatch.delenv("O2C_SETTINGS", raising=False)
    (tmp_path / "settings.toml").write_text("dso_window_days = 0\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="dso_window_days"):
        load_settings(tmp_path)
    (tmp_path / "settings.toml").write_text("dso_window_days = 30\n", encoding="utf-8")
    assert load_settings(tmp_path).dso_window_days == 30
