"""`make bench` says at the top which origin it uses and which reference tools are missing."""

from __future__ import annotations

from bench.tools import INSTALL, find_tools, preamble


def test_without_nginx_and_aria2c_the_preamble_names_the_fallback_and_the_install_command() -> None:
    tools = find_tools(
        which=lambda name: "/usr/bin/curl" if name == "curl" else None, nginx=lambda: None
    )
    lines = preamble(tools)
    assert tools.origin == "aiohttp"
    assert lines[0].startswith("bench: origin aiohttp")
    assert "aria2c MISSING" in lines[1]
    assert "curl /usr/bin/curl" in lines[1]
    assert any("WARNING no nginx" in line for line in lines)
    assert any("WARNING no aria2c" in line for line in lines)
    assert INSTALL == "apt-get install nginx aria2"
    assert lines[-1].startswith(f"bench: to install them: `{INSTALL}`")


def test_with_every_tool_present_there_is_no_warning() -> None:
    tools = find_tools(which=lambda name: f"/usr/bin/{name}", nginx=lambda: "/usr/sbin/nginx")
    lines = preamble(tools)
    assert lines[0] == "bench: origin nginx (/usr/sbin/nginx)"
    assert lines[1] == (
        "bench: reference tools: curl /usr/bin/curl, aria2c /usr/bin/aria2c, yt-dlp /usr/bin/yt-dlp"
    )
    assert len(lines) == 2
