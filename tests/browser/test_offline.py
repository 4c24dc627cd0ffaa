"""Install and offline in real Chromium: installability, every page with the server stopped,
the update flow, and the install offer."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from helpers import PRECACHED_URLS
from helpers import open_controlled
from playwright.sync_api import expect

from pwa.site.explainer import load_pages

APP_ROUTES = {
    "/": "Today",
    "/sessions/": "Sessions",
    "/learn/": "Learn",
    "/settings/": "Settings",
    "/?source=pwa": "Today",
    **{f"/learn/{slug}": page.title for slug, page in load_pages().items()},
}


def test_chromium_finds_the_app_installable(own_server, profile):
    page = open_controlled(profile, own_server.url + "/")
    cdp = profile.new_cdp_session(page)
    assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
    answer = cdp.send("Page.getAppManifest")
    assert answer["errors"] == []
    assert answer["url"] == own_server.url + "/manifest.webmanifest"
    manifest = json.loads(answer["data"])
    for field in ("id", "name", "short_name", "description", "start_url", "scope", "orientation"):
        assert manifest[field], field
    assert manifest["display"] == "standalone"
    purposes = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
    assert purposes == {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")}
    assert [s["form_factor"] for s in manifest["screenshots"]] == ["narrow"]
    assert [s["name"] for s in manifest["shortcuts"]] == ["Today", "Sessions", "Learn"]


def test_every_page_opens_with_the_server_stopped(own_server, profile):
    page = open_controlled(profile, own_server.url + "/")
    cached = page.evaluate(PRECACHED_URLS)
    assert len(cached["urls"]) >= len(APP_ROUTES)
    assert any("/sw.js" in url for url in page.requests)
    assert any(url.endswith("/offline") for url in page.requests), "the precache download is seen"
    assert all(name.startswith("aftercare-") for name in cached["names"])
    # The worker runs Workbox's production build (debug off), the runtime pinned in vendor/.
    runtime = [url for url in page.requests if "/static/vendor/workbox-v" in url]
    modules = [url for url in runtime if not url.endswith("/workbox-sw.js")]
    assert modules and all(".prod." in url for url in modules), runtime
    own_server.stop()  # a real outage: nothing answers on the port any more

    for path, heading in APP_ROUTES.items():
        response = page.goto(own_server.url + path)
        assert response.from_service_worker, path
        assert page.locator("h1").inner_text() == heading, path
        # Real content, not a shell: the explainer pages show their sources.
        if path.startswith("/learn/") and path != "/learn/":
            assert page.get_by_role("heading", name="Sources and review").is_visible()
    page.goto(own_server.url + "/learn/a-page-that-does-not-exist")
    assert page.locator("h1").inner_text() == "You're offline"
    page.goto(own_server.url + "/anything/else?at=all")
    assert page.locator("h1").inner_text() == "You're offline"

    origins = {urlsplit(url).netloc for url in page.requests}
    assert origins == {urlsplit(own_server.url).netloc}


def test_first_visit_says_ready_to_work_offline_once(own_server, profile):
    page = profile.new_page()
    page.goto(own_server.url + "/learn/")
    toast = page.get_by_role("status").get_by_text("Ready to work offline")
    toast.wait_for()
    page.locator("html[data-offline-ready='shown']").wait_for()
    # The worker is removed and installed afresh (local storage kept): the page remembers
    # it said so, and says nothing this time.
    page.evaluate(
        "async () => { for (const r of await navigator.serviceWorker.getRegistrations())"
        " await r.unregister(); }"
    )
    page.reload()
    page.locator("html[data-offline-ready='remembered']").wait_for(timeout=15_000)
    expect(page.get_by_text("Ready to work offline")).to_have_count(0)


def test_update_waits_for_the_users_tap_then_serves_the_new_content(own_server, profile):
    page = open_controlled(profile, own_server.url + "/learn/what-is-pih")
    assert page.locator("h1").inner_text() == "What PIH is"

    # Deploy new content: the clinic replaces a page and the server restarts.
    own_server.stop()
    content = own_server.data_dir / "content"
    content.mkdir(parents=True)
    (content / "what-is-pih.md").write_text(
        '+++\ntitle = "PIH, in our words"\nsummary = "The clinic\'s own page."\norder = 1\n'
        'reviewed = 2026-11-20\n[[sources]]\nname = "Clinic protocol"\n+++\nNew text.\n'
    )
    own_server.start()

    page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
    toast = page.get_by_role("status")
    toast.get_by_text("Update available").wait_for(timeout=20_000)
    # Nothing changes on its own: the old page stays until the user taps.
    page.wait_for_timeout(500)
    assert page.locator("h1").inner_text() == "What PIH is"

    with page.expect_navigation():
        toast.get_by_role("button", name="Reload").click()
    page.get_by_role("heading", level=1).wait_for()
    assert page.locator("h1").inner_text() == "PIH, in our words"
