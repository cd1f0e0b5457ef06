"""GatewayCRUD leans on private parts of piccolo_api and piccolo_admin (no public hook does
what it needs): an upgrade that changes them must fail here, saying what changed, rather
than break the admin quietly."""

from __future__ import annotations

import dataclasses
import inspect
from importlib.metadata import version

import piccolo_admin.endpoints
import pytest
from piccolo_api.crud.endpoints import Params, PiccoloCRUD

from apps.adminsite.crud import PARAMS_FIELDS, PRIVATE_SIGNATURES, WRITTEN_AGAINST


@pytest.mark.parametrize("package", sorted(WRITTEN_AGAINST))
def test_the_installed_version_is_the_one_the_overrides_were_written_against(
    package: str,
) -> None:
    # given the version GatewayCRUD was written against; when the installed one is read
    installed = version(package)
    # then it is the same minor (pyproject.toml pins it)
    assert ".".join(installed.split(".")[:2]) == WRITTEN_AGAINST[package], (
        f"{package} {installed} is installed but apps/adminsite/crud.py was written against "
        f"{WRITTEN_AGAINST[package]}.x: check GatewayCRUD's overrides against the new "
        "version, then update WRITTEN_AGAINST and the pin in pyproject.toml"
    )


@pytest.mark.parametrize("name", sorted(PRIVATE_SIGNATURES))
def test_the_overridden_private_methods_keep_their_signatures(name: str) -> None:
    # given a private PiccoloCRUD method GatewayCRUD overrides or calls; when its signature is read
    signature = str(inspect.signature(getattr(PiccoloCRUD, name)))
    # then it is the one GatewayCRUD was written for
    assert signature == PRIVATE_SIGNATURES[name], (
        f"PiccoloCRUD.{name} changed from {PRIVATE_SIGNATURES[name]} to {signature}: "
        f"update GatewayCRUD.{name} (apps/adminsite/crud.py) and PRIVATE_SIGNATURES"
    )


def test_the_private_params_keep_the_fields_the_overrides_use() -> None:
    fields = {field.name for field in dataclasses.fields(Params)}
    missing = set(PARAMS_FIELDS) - fields
    assert not missing, f"piccolo_api's Params lost {sorted(missing)}: update GatewayCRUD"


def test_the_stock_endpoints_the_overrides_call_still_carry_their_unwrapped_function() -> None:
    # GatewayCRUD calls the stock list and delete past their validators (already applied)
    for name in ("get_all", "delete_single"):
        assert hasattr(getattr(PiccoloCRUD, name), "__wrapped__"), (
            f"PiccoloCRUD.{name} is no longer wrapped by apply_validators: "
            f"GatewayCRUD's call to {name}.__wrapped__ must change"
        )


def test_piccolo_admin_still_builds_its_crud_from_the_module_name_the_site_swaps() -> None:
    # site.build_admin swaps piccolo_admin.endpoints.PiccoloCRUD while create_admin runs
    source = inspect.getsource(piccolo_admin.endpoints.AdminRouter)
    assert "PiccoloCRUD(" in source, (
        "piccolo_admin's AdminRouter no longer calls PiccoloCRUD(...) by the module's "
        "name: build_admin's swap would silently install the stock CRUD"
    )
    assert getattr(piccolo_admin.endpoints, "PiccoloCRUD") is PiccoloCRUD  # noqa: B009
