"""Drive a registry with HashiCorp's official Python SDK (pytfe, pinned in
requirements.txt) and check what the SDK makes of its answers.

The SDK was written by HashiCorp against the real HCP Terraform API, not by this
project: where it refuses or misreads an answer, the registry disagrees with the real
service. Run by tests/it/conformance.rs against an embedded registry on 127.0.0.1; it
can also be pointed at any registry by hand:

    TFE_ADDRESS=http://127.0.0.1:PORT TFE_TOKEN=... CONFORMANCE_ORG=acme \
    CONFORMANCE_PUBLISHED_MODULE=greeting/null CONFORMANCE_PUBLISHED_PROVIDER=greet@1.0.0 \
    python sdk_conformance.py

Exits 0 when every check passes, 1 with the failed checks listed otherwise.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import tarfile
import traceback
import urllib.request

from pytfe import TFEClient, TFEConfig
from pytfe.errors import NotFound
from pytfe.models import (
    RegistryModuleCreateOptions,
    RegistryModuleCreateVersionOptions,
    RegistryModuleID,
    RegistryModuleVersionStatus,
    RegistryName,
)
from pytfe.models.registry_provider import RegistryName as ProviderRegistryName
from pytfe.models.registry_provider import (
    RegistryProviderCreateOptions,
    RegistryProviderID,
)
from pytfe.models.registry_provider_platform import (
    RegistryProviderPlatformCreateOptions,
    RegistryProviderPlatformID,
)
from pytfe.models.registry_provider_version import (
    RegistryProviderVersionCreateOptions,
    RegistryProviderVersionID,
)

ORG = os.environ.get("CONFORMANCE_ORG", "acme")
ADDRESS = os.environ["TFE_ADDRESS"].rstrip("/")
TOKEN = os.environ.get("TFE_TOKEN", "")
KEY_ID = os.environ.get("CONFORMANCE_KEY_ID", "7272A3BE438F9A26")

failures: list[str] = []
passed = 0


def check(name: str, fn) -> object:
    """Run one check; record a failure with its traceback instead of stopping."""
    global passed
    try:
        out = fn()
    except Exception:  # noqa: BLE001 - every SDK refusal is a finding
        failures.append(f"{name}:\n{traceback.format_exc()}")
        print(f"FAIL {name}", flush=True)
        return None
    passed += 1
    print(f"ok   {name}", flush=True)
    return out


def expect(cond: bool, msg: str) -> None:
    if not cond:
        raise AssertionError(msg)


def tarball(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def put(url: str, body: bytes) -> int:
    """Upload as the docs say: PUT, octet-stream, no Authorization header."""
    req = urllib.request.Request(url, data=body, method="PUT")
    req.add_header("Content-Type", "application/octet-stream")
    with urllib.request.urlopen(req) as resp:  # noqa: S310 - loopback test URL
        return resp.status


def request_json(method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(ADDRESS + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {TOKEN}")
    req.add_header("Content-Type", "application/vnd.api+json")
    with urllib.request.urlopen(req) as resp:  # noqa: S310 - loopback test URL
        return resp.status, json.loads(resp.read())


def get_json(path: str) -> tuple[int, dict]:
    return request_json("GET", path)


def discovery() -> None:
    # The SDK takes a configured address; API clients that start from a hostname find
    # the API base through the discovery document's tfe.v2 (wire-facts.md).
    status, doc = get_json("/.well-known/terraform.json")
    expect(status == 200, f"discovery status {status}")
    for svc in ("modules.v1", "providers.v1", "tfe.v2", "tfe.v2.1", "tfe.v2.2"):
        expect(svc in doc, f"discovery lacks {svc}: {doc}")
    expect(doc["tfe.v2"] == "/api/v2/", f"tfe.v2 is {doc['tfe.v2']!r}")


def module_flow(client: TFEClient) -> None:
    mods = client.registry_modules
    mid = RegistryModuleID(organization=ORG, name="sdkmod", provider="aws")

    # pytfe's create sends its options with Python names (`no_code`, `registry_name`:
    # resources/registry_module.py `create`, `model_dump` without aliases), which the
    # documented API does not know; the flag is set here with the documented attribute
    # and the SDK must read it back.
    def create_no_code():
        status, doc = request_json(
            "POST",
            f"/api/v2/organizations/{ORG}/registry-modules",
            {"data": {"type": "registry-modules", "attributes": {"name": "sdkmod", "provider": "aws", "registry-name": "private", "no-code": True}}},
        )
        expect(status == 201, f"status {status}: {doc}")

    check("module create with no-code (documented payload)", create_no_code)
    created = check("module read after create", lambda: mods.read(mid))
    if created is not None:
        check("module: no-code reflected", lambda: expect(created.no_code, f"no_code={created.no_code}"))
        check(
            "module: documented attributes",
            lambda: expect(
                created.namespace == ORG
                and created.registry_name == RegistryName.PRIVATE
                and created.status is not None
                and created.status.value == "pending",
                f"{created!r}",
            ),
        )
    check(
        "module create through the SDK",
        lambda: mods.create(ORG, RegistryModuleCreateOptions(name="sdkother", provider="aws")),
    )
    check("module delete through the SDK", lambda: mods.delete(ORG, "sdkother"))

    ver = check(
        "module create version",
        lambda: mods.create_version(mid, RegistryModuleCreateVersionOptions(version="1.0.0")),
    )
    if ver is not None:
        check("module version has an upload link", lambda: expect("upload" in ver.links, f"{ver.links}"))
        check(
            "module version upload (SDK upload_tar_gzip)",
            lambda: mods.upload_tar_gzip(
                ver.links["upload"],
                io.BytesIO(tarball({"main.tf": b'output "x" { value = 1 }\n'})),
            ),
        )

    def read_ok():
        v = mods.read_version(mid, "1.0.0")
        expect(v.status == RegistryModuleVersionStatus.OK, f"status {v.status}")
        expect(v.version == "1.0.0", f"version {v.version}")

    check("module read version -> ok", read_ok)

    def read_module():
        m = mods.read(mid)
        expect(m.name == "sdkmod" and m.provider == "aws", f"{m!r}")
        expect(m.no_code, "no-code not reflected on read")
        expect([vs.version for vs in m.version_statuses] == ["1.0.0"], f"{m.version_statuses}")

    check("module read", read_module)

    def list_modules():
        names = [(m.name, m.provider) for m in mods.list(ORG)]
        expect(("sdkmod", "aws") in names, f"{names}")

    check("module list", list_modules)

    def list_versions():
        got = [v.version for v in mods.list_versions(mid)]
        expect(got == ["1.0.0"], f"versions {got}")

    check("module list versions", list_versions)

    def protocol_read():
        tm = mods.read_terraform_registry_module(
            RegistryModuleID(namespace=ORG, name="sdkmod", provider="aws"), "1.0.0"
        )
        expect(tm.version == "1.0.0" and tm.namespace == ORG, f"{tm!r}")

    check("module registry protocol read (read_terraform_registry_module)", protocol_read)

    # The deprecated deletes the SDK uses: version, provider, whole module.
    def delete_version():
        v2 = mods.create_version(mid, RegistryModuleCreateVersionOptions(version="1.1.0"))
        expect(v2.version == "1.1.0", f"{v2!r}")
        mods.delete_version(mid, "1.1.0")
        try:
            mods.read_version(mid, "1.1.0")
        except NotFound:
            return
        raise AssertionError("version 1.1.0 still readable after delete_version")

    check("module delete_version (deprecated POST actions/delete)", delete_version)

    def delete_provider():
        mods.create(ORG, RegistryModuleCreateOptions(name="sdkmod", provider="google"))
        mods.delete_provider(RegistryModuleID(organization=ORG, name="sdkmod", provider="google"))
        try:
            mods.read(RegistryModuleID(organization=ORG, name="sdkmod", provider="google"))
        except NotFound:
            return
        raise AssertionError("provider google still readable after delete_provider")

    check("module delete_provider (deprecated POST actions/delete)", delete_provider)

    def delete_module():
        mods.delete(ORG, "sdkmod")
        try:
            mods.read(mid)
        except NotFound:
            return
        raise AssertionError("module still readable after delete")

    check("module delete (deprecated POST actions/delete)", delete_module)


def provider_flow(client: TFEClient) -> None:
    provs = client.registry_providers
    pid = RegistryProviderID(organization_name=ORG, registry_name=ProviderRegistryName.PRIVATE, namespace=ORG, name="sdkprov")
    check(
        "provider create",
        lambda: provs.create(
            ORG,
            RegistryProviderCreateOptions(name="sdkprov", namespace=ORG, registry_name=ProviderRegistryName.PRIVATE),
        ),
    )
    check("provider read", lambda: expect(provs.read(pid).name == "sdkprov", "name"))
    check("provider list", lambda: expect("sdkprov" in [p.name for p in provs.list(ORG)], "not listed"))

    vid = RegistryProviderVersionID(**pid.model_dump(), version="1.0.0")
    pv = check(
        "provider version create",
        lambda: client.registry_provider_versions.create(
            pid, RegistryProviderVersionCreateOptions(version="1.0.0", key_id=KEY_ID, protocols=["6.0"])
        ),
    )
    zip_bytes = b"PK\x05\x06" + b"\x00" * 18  # an empty zip archive
    zip_sha = hashlib.sha256(zip_bytes).hexdigest()
    fname = "terraform-provider-sdkprov_1.0.0_linux_amd64.zip"
    if pv is not None:
        # pytfe drops a provider version's `links` (resources/registry_provider_version.py
        # `_registry_provider_version_from` validates attributes only), so the upload
        # links are read from the raw document, as a user of the SDK would have to.
        _, raw = get_json(
            f"/api/v2/organizations/{ORG}/registry-providers/private/{ORG}/sdkprov/versions/1.0.0"
        )
        links = raw["data"].get("links", {})
        check(
            "provider version upload links",
            lambda: expect("shasums-upload" in links and "shasums-sig-upload" in links, f"{links}"),
        )
        sums = f"{zip_sha}  {fname}\n".encode()
        check("upload SHA256SUMS", lambda: expect(put(links["shasums-upload"], sums) == 200, "status"))
        check("upload SHA256SUMS.sig", lambda: expect(put(links["shasums-sig-upload"], b"\x88sig") == 200, "status"))

    def read_version():
        v = client.registry_provider_versions.read(vid)
        expect(v.version == "1.0.0" and v.shasums_uploaded and v.shasums_sig_uploaded, f"{v!r}")

    check("provider version read (uploaded)", read_version)
    check(
        "provider version list",
        lambda: expect(["1.0.0"] == [v.version for v in client.registry_provider_versions.list(pid)], "list"),
    )

    plats = client.registry_provider_platforms
    plat = check(
        "platform create",
        lambda: plats.create(
            vid, RegistryProviderPlatformCreateOptions(os="linux", arch="amd64", shasum=zip_sha, filename=fname)
        ),
    )
    if plat is not None:
        link = (plat.links or {}).get("provider-binary-upload")
        check("platform upload link", lambda: expect(bool(link), f"{plat.links}"))
        if link:
            check("upload provider zip", lambda: expect(put(link, zip_bytes) == 200, "status"))
    plid = RegistryProviderPlatformID(**vid.model_dump(), os="linux", arch="amd64")

    def read_platform():
        p = plats.read(plid)
        expect(p.provider_binary_uploaded and p.shasum == zip_sha and p.filename == fname, f"{p!r}")

    check("platform read (uploaded)", read_platform)
    check("platform list", lambda: expect(["linux"] == [p.os for p in plats.list(vid)], "list"))
    check("platform delete", lambda: plats.delete(plid))
    check("provider version delete", lambda: client.registry_provider_versions.delete(vid))
    check("provider delete", lambda: provs.delete(pid))


def published_by_tfpub(client: TFEClient) -> None:
    """SDK reads of what the tfpub binary published into the same registry."""
    mod = os.environ.get("CONFORMANCE_PUBLISHED_MODULE")
    if mod:
        name, provider, version = mod.replace("@", "/").split("/")
        mid = RegistryModuleID(organization=ORG, name=name, provider=provider)

        def read():
            m = client.registry_modules.read(mid)
            expect(version in [vs.version for vs in m.version_statuses], f"{m.version_statuses}")
            v = client.registry_modules.read_version(mid, version)
            expect(v.status == RegistryModuleVersionStatus.OK, f"{v!r}")
            got = [v.version for v in client.registry_modules.list_versions(mid)]
            expect(version in got, f"{got}")

        check(f"SDK reads tfpub-published module {mod}", read)
    prov = os.environ.get("CONFORMANCE_PUBLISHED_PROVIDER")
    if prov:
        name, version = prov.split("@")
        pid = RegistryProviderID(organization_name=ORG, registry_name=ProviderRegistryName.PRIVATE, namespace=ORG, name=name)

        def read():
            expect(client.registry_providers.read(pid).name == name, "name")
            vid = RegistryProviderVersionID(**pid.model_dump(), version=version)
            v = client.registry_provider_versions.read(vid)
            expect(v.shasums_uploaded and v.shasums_sig_uploaded, f"{v!r}")
            expect(v.key_id == KEY_ID, f"key {v.key_id}")
            plats = list(client.registry_provider_platforms.list(vid))
            expect(plats and all(p.provider_binary_uploaded for p in plats), f"{plats}")

        check(f"SDK reads tfpub-published provider {prov}", read)


def main() -> int:
    cfg = TFEConfig(address=ADDRESS, token=TOKEN, max_retries=0, http2=False, verify_tls=False)
    check("discovery document (tfe.v2 and siblings)", discovery)
    with TFEClient(cfg) as client:
        published_by_tfpub(client)
        module_flow(client)
        provider_flow(client)
    print(f"{passed} checks passed, {len(failures)} failed", flush=True)
    for f in failures:
        print("\n" + f, flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
