"""The trainee's pages without a browser: a scanned check-in link survives signing in; the QR SVG is the link's."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import segno
from fastapi.testclient import TestClient

from web.qr import qr_svg
from web.settings import WebSettings


def test_a_scanned_link_survives_signing_in(tmp_path) -> None:
    from web.main import create_app

    app = create_app(
        WebSettings(environment="test", cookie_secure=False, session_store_url=f"sqlite:///{tmp_path}/s.db")
    )
    trainee = "0b7e6a52-8a4e-4bfa-9d52-5f1e2b9d2c11"
    link = "/me/check-in?session=5d0f3c1e-7a0b-4c2e-9f31-8b7d6a5e4c30&code=40718263"
    with TestClient(app) as client:
        r = client.get(link, follow_redirects=False)
        assert r.status_code == 303
        wanted = parse_qs(urlparse(r.headers["location"]).query)["next"]
        assert wanted == [link], "the code and the session are kept for after the sign-in"
        page = client.get(r.headers["location"])
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        assert f'name="next" value="{link.replace("&", "&amp;")}"' in page.text
        signed = client.post(
            "/signin/local",
            follow_redirects=False,
            data={"role": "trainee", "trainee_id": trainee, "next": link, "csrf_token": token},
        )
        assert signed.headers["location"] == link


def test_the_qr_svg_encodes_the_text_and_has_a_name() -> None:
    svg = str(qr_svg("http://console.example/me/check-in?session=s&code=12345678", title="출석 체크 QR 코드"))
    assert svg.startswith('<svg role="img" ') and "<title>출석 체크 QR 코드</title>" in svg
    again = segno.make("http://console.example/me/check-in?session=s&code=12345678", error="m", micro=False)
    assert again.designator in ("3-M", "4-M") and "<script" not in svg
    assert len(svg) < 8_000, "small enough to send every 30 seconds"
