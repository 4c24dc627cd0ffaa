"""Every page of the shell: navigation, errors, security headers, and no other origins."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser

import pytest

from pwa import ROOT
from pwa.site.explainer import load_pages

NAV_PAGES = {"/": "Today", "/sessions/": "Sessions", "/learn/": "Learn", "/settings/": "Settings"}
EXPLAINER_URLS = [f"/learn/{slug}" for slug in load_pages()]
ALL_PAGES = [*NAV_PAGES, *EXPLAINER_URLS]


class PageParser(HTMLParser):
    """Collects the facts about a page the tests below check."""

    def __init__(self) -> None:
        super().__init__()
        self.h1: list[str] = []
        self.nav_links: list[str] = []
        self.references: list[str] = []
        self.inline_scripts: list[str] = []
        self.style_elements: list[str] = []
        self.style_attributes = 0
        # Links to a cited source's own page: the one place a page may point off-site.
        self.source_links: list[dict] = []
        self._stack: list[str] = []
        self._in_nav = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._stack.append(tag)
        if tag == "nav":
            self._in_nav = True
        if tag == "a" and self._in_nav:
            self.nav_links.append("")
        if tag == "script" and "src" not in attrs:
            self.inline_scripts.append("")
        if tag == "style":
            self.style_elements.append("")
        if "style" in attrs:
            self.style_attributes += 1
        if tag == "a" and attrs.get("class") == "sources__link":
            self.source_links.append(attrs)
            return
        for name in ("href", "src", "action", "poster", "srcset", "content"):
            if attrs.get(name):
                self.references.append(attrs[name])

    def handle_endtag(self, tag):
        if tag == "nav":
            self._in_nav = False
        if self._stack:
            self._stack.pop()

    def handle_data(self, data):
        if self._stack and self._stack[-1] == "script" and self.inline_scripts:
            self.inline_scripts[-1] += data
        if self._stack and self._stack[-1] == "style" and self.style_elements:
            self.style_elements[-1] += data
        if "h1" in self._stack:
            self.h1.append(data.strip())
        if self._in_nav and "a" in self._stack and self.nav_links:
            self.nav_links[-1] += data.strip()


def parse(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    return parser


@pytest.mark.parametrize(("url", "heading"), NAV_PAGES.items())
def test_nav_pages_answer_with_their_heading(client, url, heading):
    response = client.get(url)
    assert response.status_code == 200
    assert "".join(parse(response.text).h1) == heading


def test_navigation_labels_are_exactly_the_four_areas(client):
    for url in ALL_PAGES:
        assert parse(client.get(url).text).nav_links == ["Today", "Sessions", "Learn", "Settings"]


def test_current_area_is_marked_in_the_navigation(client):
    html = client.get("/learn/what-is-pih").text
    current = re.findall(r'<a class="tab-bar__link" href="([^"]+)" aria-current="page"', html)
    assert current == ["/learn/"]


def test_unknown_page_gets_the_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "We can&#39;t find that page" in response.text
    assert 'href="/"' in response.text


def test_unknown_api_path_gets_a_json_error(client):
    response = client.get("/api/unknown")
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert response.get_json()["error"] == "not_found"


def test_wrong_method_on_the_api_is_json_with_allow(client):
    response = client.post("/api/health")
    assert response.status_code == 405
    assert response.get_json()["error"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_unexpected_errors_are_calm_pages_and_json(data_dir):
    from pwa import create_app

    app = create_app({"DATA_DIR": data_dir})  # not TESTING: exceptions are handled

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    @app.get("/api/boom")
    def api_boom():
        raise RuntimeError("secret internals")

    client = app.test_client()
    page = client.get("/boom")
    assert page.status_code == 500 and "Something went wrong" in page.text
    assert "secret internals" not in page.text
    api = client.get("/api/boom")
    assert api.status_code == 500 and api.get_json()["error"] == "internal_server_error"
    assert "secret internals" not in api.text


def test_health_endpoint(client):
    assert client.get("/api/health").get_json() == {"status": "ok"}


@pytest.mark.parametrize("url", ALL_PAGES)
def test_pages_carry_the_medical_information_notice(client, url):
    assert "General information, not medical advice" in client.get(url).text


@pytest.mark.parametrize("url", ALL_PAGES)
def test_pages_reference_no_other_origin_and_nothing_inline(client, url):
    response = client.get(url)
    facts = parse(response.text)
    outside = [
        ref for ref in facts.references if re.match(r"^(?:[a-z][a-z0-9+.-]*:)?//", ref, re.I)
    ]
    assert outside == []
    assert facts.style_attributes == 0
    # Inline: the stylesheet on every page, and Today's boot and first-paint scripts; each
    # allowed by its hash in the CSP, so any other inline code would be refused by the browser.
    assert len(facts.style_elements) == 1
    assert len(facts.inline_scripts) == (2 if url == "/" else 0)
    policy = response.headers["Content-Security-Policy"]
    for directive, texts in (
        ("script-src", facts.inline_scripts),
        ("style-src", facts.style_elements),
    ):
        sources = re.search(rf"{directive} ([^;]*)", policy).group(1).split()
        for text in texts:
            digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in sources


@pytest.mark.parametrize("url", EXPLAINER_URLS)
def test_learn_pages_link_off_site_only_to_their_registry_sources(client, url):
    facts = parse(client.get(url).text)
    page = load_pages()[url.removeprefix("/learn/")]
    assert [link["href"] for link in facts.source_links] == [s.link for s in page.sources]
    for link in facts.source_links:
        assert "noopener" in link["rel"].split(), link


def test_stylesheets_reference_no_other_origin():
    for css in (ROOT / "static").rglob("*.css"):
        text = css.read_text()
        assert "@import" not in text, css
        for target in re.findall(r"url\(\s*['\"]?([^'\")]+)", text):
            assert not re.match(r"^(?:[a-z]+:)?//", target), (css, target)


def test_every_response_carries_the_security_headers(client):
    for url in [*ALL_PAGES, "/nope", "/api/health", "/static/css/app.css"]:
        with client.get(url) as response:
            headers = response.headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_clinic_name_shows_when_configured(data_dir):
    from pwa import create_app

    app = create_app({"DATA_DIR": data_dir, "CLINIC_NAME": "Harbour Skin Clinic"})
    assert "Harbour Skin Clinic" in app.test_client().get("/settings/").text
