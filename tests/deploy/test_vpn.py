"""The VPN, for real: staff outside the hospital reach the console only through OpenVPN.

Three network namespaces made for the test, joined by veth pairs (nothing reaches the machine's own
network, and nothing there reaches them):

    outside (a staff laptop) ── 198.51.100.0/24 ── vpn (the OpenVPN server) ── 10.20.0.0/24 ── lan (the gateway)
                                                    hands out 10.8.0.0/24

The VPN server routes the pool into the LAN without NAT and the LAN routes the pool back through it,
so the gateway sees each client's own pool address: the address its trusted networks (exactly the LAN
and the pool, set as IT sets them, HAMP_GATEWAY_TRUSTED_NETWORKS) admit, and the one the login log
keeps. Certificates and configs come from .ci/vpn.sh, as docs/vpn.md shows them to IT.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import netns
from tests.support.netns import Namespaces, wait_for
from tests.support.servers import ROOT, require

# The example network of .ci/vpn.sh's configs (docs/vpn.md).
PUBLIC = "198.51.100.0/24"  # TEST-NET-2: the internet between a laptop and the hospital
VPN_PUBLIC_IP = "198.51.100.1"
LAPTOP_IP = "198.51.100.2"
LAN = "10.20.0.0/24"
VPN_LAN_IP = "10.20.0.1"
GATEWAY_IP = "10.20.0.10"
POOL = "10.8.0.0/24"
# The namespaces are the test's own, so the usual ports cannot be taken by anything else.
CONSOLE = f"http://{GATEWAY_IP}:8080"
ADMIN_PASSWORD = "Vpn-admin-pass-1"
CONNECTED = "Initialization Sequence Completed"
REFUSED = "只允许从医院内网或 VPN 访问"
SCRIPT = ROOT / ".ci" / "vpn.sh"


@dataclass
class Site:
    net: Namespaces
    dir: Path
    logs: dict[str, Path]

    def log(self, name: str) -> str:
        return self.logs[name].read_text(errors="replace") if self.logs[name].exists() else ""

    @contextmanager
    def logs_on_failure(self) -> Iterator[None]:
        try:
            yield
        except BaseException:
            for name, path in self.logs.items():
                print(f"== {name} ({path})", netns.tail(path), sep="\n")
            raise


def _vpn(*args: str) -> None:
    subprocess.run(["bash", str(SCRIPT), *args], check=True, capture_output=True, timeout=60)


def _gateway_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAMP_")}
    env.update(
        HAMP_VAR_DIR=str(var_dir),
        HAMP_REGISTRY_URLS="",
        HAMP_LOG_TO_FILE="false",
        HAMP_DEMO_DATA="false",
        HAMP_GATEWAY_HOST=GATEWAY_IP,
        HAMP_GATEWAY_TRUSTED_NETWORKS=json.dumps([LAN, POOL]),
        HAMP_GATEWAY_SUPERADMIN_PASSWORD=ADMIN_PASSWORD,
        # Two-step login is tested on its own (tests/e2e/test_console_second_factor.py).
        HAMP_GATEWAY_TOTP_REQUIRED_PERMISSIONS="[]",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    for tool in ("openvpn", "openssl", "curl"):
        require(shutil.which(tool) is not None, f"{tool} is not installed")
    require(Path("/dev/net/tun").exists(), "no /dev/net/tun: OpenVPN cannot make its tunnel")
    reason = netns.unavailable()
    require(not reason, reason)

    work = tmp_path_factory.mktemp("vpn")
    pki = work / "pki"
    _vpn("pki", str(pki))
    _vpn("configs", str(pki))
    logs = {name: work / f"{name}.log" for name in ("gateway", "server", "client", "stranger")}
    with Namespaces("vpn") as net:
        site = Site(net, work, logs)
        with site.logs_on_failure():
            net.add("outside", "vpn", "lan")
            net.link("vpn", "wan0", f"{VPN_PUBLIC_IP}/24", "outside", "wan0", f"{LAPTOP_IP}/24")
            net.link("vpn", "lan0", f"{VPN_LAN_IP}/24", "lan", "lan0", f"{GATEWAY_IP}/24")
            net.run("vpn", "sysctl", "-w", "net.ipv4.ip_forward=1")
            # The way back to the pool is through the VPN server: no NAT, the client's own address arrives.
            net.ip("lan", "route", "add", POOL, "via", VPN_LAN_IP)
            # The VPN server is also the LAN's edge router here, so a packet from the internet that it let
            # through would be answered: the gateway's own check is what is left to refuse it.
            net.ip("lan", "route", "add", "default", "via", VPN_LAN_IP)
            gateway = net.spawn(
                "lan",
                [sys.executable, "-m", "shared.cli", "run", "gateway", "--port", "8080"],
                logs["gateway"],
                env=_gateway_env(work / "var"),
                cwd=ROOT,
            )
            server = net.spawn("vpn", ["openvpn", "--cd", str(pki), "--config", "server.conf"], logs["server"])
            wait_for("the OpenVPN server", lambda: CONNECTED in site.log("server"), 20, alive=server)
            wait_for("the gateway", lambda: _ready(net), 90, alive=gateway)
        yield site


def _ready(net: Namespaces) -> bool:
    try:
        return net.http("lan", "GET", f"{CONSOLE}/health/ready")[0] == 200
    except ConnectionError:
        return False


@contextmanager
def tunnel(site: Site, config_dir: Path, log: str) -> Iterator[subprocess.Popen[bytes]]:
    """An OpenVPN client in the outside namespace; its tunnel is gone again when the block ends."""
    client = site.net.spawn("outside", ["openvpn", "--cd", str(config_dir), "--config", "client.conf"], site.logs[log])
    try:
        yield client
    finally:
        netns.stop(client)
        wait_for("the tunnel to close", lambda: not site.net.addresses("outside", "tun0"), 10)


def _no_route_to_the_lan(site: Site) -> bool:
    route = site.net.ip("outside", "route", "get", GATEWAY_IP, check=False)
    return route.returncode != 0 and "unreachable" in route.stderr


def test_without_the_tunnel_the_console_is_out_of_reach(site: Site) -> None:
    net = site.net
    with site.logs_on_failure():
        # A laptop on the internet has no way into the hospital LAN at all.
        assert _no_route_to_the_lan(site)
        with pytest.raises(ConnectionError, match="exit 7"):
            net.http("outside", "GET", f"{CONSOLE}/")
        # Even if the VPN server forwarded the laptop's packets straight into the LAN (a firewall left
        # open), the gateway itself refuses an address outside its trusted networks, before any login.
        net.ip("outside", "route", "add", LAN, "via", VPN_PUBLIC_IP)
        try:
            for method, path, body in (
                ("GET", "/", None),
                ("POST", "/api/auth/login", {"username": "admin", "password": ADMIN_PASSWORD}),
            ):
                status, headers, text = net.http("outside", method, f"{CONSOLE}{path}", body)
                assert status == 403, text
                assert headers["content-type"] == "application/problem+json"
                problem = json.loads(text)
                assert (problem["code"], problem["detail"]) == ("untrusted_network", REFUSED)
        finally:
            net.ip("outside", "route", "del", LAN, "via", VPN_PUBLIC_IP)
        refusals = [json.loads(line) for line in site.log("gateway").splitlines() if "outside the trusted" in line]
        assert refusals and {r["ip"] for r in refusals} == {LAPTOP_IP}


def test_through_the_tunnel_staff_log_in_and_the_login_log_shows_their_vpn_address(site: Site) -> None:
    net = site.net
    with site.logs_on_failure(), tunnel(site, site.dir / "pki", "client") as client:
        wait_for("the VPN client", lambda: CONNECTED in site.log("client"), 20, alive=client)
        [address] = net.addresses("outside", "tun0")
        assert ipaddress.ip_address(address) in ipaddress.ip_network(POOL)

        status, _, text = net.http(
            "outside", "POST", f"{CONSOLE}/api/auth/login", {"username": "admin", "password": ADMIN_PASSWORD}
        )
        assert status == 200, text
        session = json.loads(text)
        assert session["user"]["must_change_password"] is False
        bearer = {"Authorization": f"Bearer {session['access_token']}"}

        status, headers, page = net.http("outside", "GET", f"{CONSOLE}/")
        assert status == 200 and headers["content-type"].startswith("text/html")
        assert "医院档案管理平台" in page

        status, _, text = net.http("outside", "GET", f"{CONSOLE}/api/system/security-policy", headers=bearer)
        assert status == 200, text
        assert json.loads(text)["trusted_networks"] == [LAN, POOL]

        status, _, text = net.http("outside", "GET", f"{CONSOLE}/api/system/login-log?username=admin", headers=bearer)
        assert status == 200, text
        logins = [(row["ip"], row["result"]) for row in json.loads(text)["items"] if row["event"] == "login"]
        # The client's own pool address: neither the VPN server's LAN address (NAT) nor its public one.
        assert logins == [(address, "success")]


def test_a_certificate_from_another_ca_cannot_bring_the_tunnel_up(site: Site) -> None:
    """A stolen config (the server's CA, the tls-crypt key) with a certificate the hospital's CA never signed."""
    stranger = site.dir / "stranger"
    _vpn("pki", str(site.dir / "other-ca"))
    stranger.mkdir()
    for name in ("client.conf", "ca.crt", "tc.key"):
        shutil.copy(site.dir / "pki" / name, stranger / name)
    for name in ("client.crt", "client.key"):
        shutil.copy(site.dir / "other-ca" / name, stranger / name)

    seen = len(site.log("server"))
    with site.logs_on_failure(), tunnel(site, stranger, "stranger") as client:
        wait_for("the server's refusal", lambda: "VERIFY ERROR" in site.log("server")[seen:], 20, alive=client)
        assert "unable to get local issuer certificate" in site.log("server")[seen:]
        assert "PUSH_REPLY" not in site.log("stranger") and CONNECTED not in site.log("stranger")
        assert not site.net.addresses("outside", "tun0")
        assert _no_route_to_the_lan(site)


def test_the_docs_show_the_configs_ci_runs(tmp_path: Path) -> None:
    """docs/vpn.md gives IT the server and client configs this test's tunnel ran with, word for word."""
    _vpn("configs", str(tmp_path))
    docs = (ROOT / "docs" / "vpn.md").read_text()
    for name in ("server.conf", "client.conf"):
        assert (tmp_path / name).read_text() in docs, f"docs/vpn.md does not show .ci/vpn.sh's {name}"
