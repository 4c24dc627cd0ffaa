"""The PIH explainer: content rules, clinic overrides, review status and readability."""

from __future__ import annotations

import os
import re
import tomllib
from datetime import date
from pathlib import Path

import pytest
from readability import blocks_of
from readability import flesch_kincaid_grade

from pwa import create_app
from pwa.care import sources
from pwa.site.explainer import SHIPPED_DIR
from pwa.site.explainer import ContentError
from pwa.site.explainer import load_pages
from pwa.site.explainer import parse_page

# The clinic article the product started from, in the project's shared folder beside the
# checkout (CI has it there); SHARED_DIR names it when it is elsewhere.
SHARED = Path(os.environ.get("SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared")
SEED = SHARED / "seed" / "000_f1302d84a8151952.txt"
REQUIRED_TOPICS = {
    "what-is-pih",
    "who-is-at-risk",
    "microneedling-for-pih",
    "side-effects",
    "what-is-microneedling",
    "when-to-get-help",
    "when-not-to-microneedle",
    "using-a-pen-at-home",
}
SHIPPED = sorted(SHIPPED_DIR.glob("*.md"))
BODY_OF = {path.stem: path.read_text().split("+++", 2)[2] for path in SHIPPED}
FRONT_OF = {path.stem: tomllib.loads(path.read_text().split("+++", 2)[1]) for path in SHIPPED}
MAX_GRADE = 8.0
REGISTRY = sources.load_registry()


def test_every_topic_ships_in_reading_order():
    pages = load_pages()
    assert set(pages) == REQUIRED_TOPICS
    assert [p.order for p in pages.values()] == sorted(p.order for p in pages.values())
    # The safety pages come right after "When to get help".
    order = list(pages)
    help_at = order.index("when-to-get-help")
    assert order[help_at + 1 : help_at + 3] == ["when-not-to-microneedle", "using-a-pen-at-home"]


@pytest.mark.parametrize("slug", sorted(REQUIRED_TOPICS))
def test_shipped_page_cites_only_registry_ids_and_has_an_updated_date(slug):
    front = FRONT_OF[slug]
    cited = front["sources"]
    assert cited and all(isinstance(source_id, str) for source_id in cited), slug
    assert set(cited) <= set(REGISTRY), sorted(set(cited) - set(REGISTRY))
    assert len(set(cited)) == len(cited), "a source is listed twice"
    # Shipped pages use the current keys; the old ones are for clinic files only.
    assert isinstance(front["updated"], date) and front["updated"] <= date.today()
    assert "reviewed" not in front


@pytest.mark.parametrize("slug", sorted(REQUIRED_TOPICS))
def test_explainer_page_shows_heading_sources_and_review_status(client, slug):
    page = load_pages()[slug]
    html = client.get(f"/learn/{slug}").text.replace("&#39;", "'")
    assert f"<h1>{page.title}</h1>" in html
    assert "Sources and review" in html and len(page.sources) >= 2
    assert f"Last updated</dt>\n      <dd>{page.updated.day} {page.updated:%B %Y}</dd>" in html
    assert "Written from the sources below; not yet reviewed by a clinician." in html
    for source_id in FRONT_OF[slug]["sources"]:
        source = REGISTRY[source_id]
        item = re.search(
            rf'<li id="source-{source_id}">{re.escape(source.citation)}.*?</li>',
            html.replace("&amp;", "&"),
            re.S,
        )
        assert item, source_id
        assert source.kind in item.group(0)
        assert f'href="{source.link}" target="_blank" rel="noopener"' in item.group(0)
        assert f"Read on {source.read_on.day} {source.read_on:%B %Y}." in item.group(0)
    # A worried reader is always pointed somewhere.
    assert "contact your practitioner or a doctor" in html


@pytest.mark.parametrize("slug", sorted(REQUIRED_TOPICS))
def test_explainer_reads_at_grade_eight_or_below(slug):
    assert flesch_kincaid_grade(BODY_OF[slug]) <= MAX_GRADE


def test_readability_measure_tells_hard_text_from_plain_text():
    hard = (
        "Postinflammatory hyperpigmentation constitutes an acquired hypermelanotic "
        "sequela of cutaneous inflammation, predominantly affecting individuals "
        "with constitutionally elevated epidermal melanogenesis."
    )
    assert flesch_kincaid_grade(hard) > 15
    assert flesch_kincaid_grade("Keep your hands off your face. Use a mild wash.") < 4


def test_no_brand_names_or_links_in_the_explainer():
    for slug, body in BODY_OF.items():
        assert not re.search(r"dr\.?\s?pen|dermapen|numby", body, re.I), slug
        assert "http" not in body and "<" not in body, slug


@pytest.mark.skipif(
    not SEED.exists(), reason=f"SEED ARTICLE NOT FOUND at {SEED}: set SHARED_DIR to check copying"
)
def test_no_sentence_is_copied_from_the_seed_article():
    def shingles(text: str, size: int = 7) -> set[tuple[str, ...]]:
        words = re.findall(r"[a-z']+", text.lower())
        return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}

    seed = shingles(SEED.read_text())
    for slug, body in BODY_OF.items():
        shared = shingles(" ".join(blocks_of(body))) & seed
        assert not shared, (slug, sorted(" ".join(s) for s in shared)[:3])


RESUME_WORDS = r"\b(resum\w*|restart\w*|start\w* again|go back to|back to using|use again)\b"
PRODUCT_WORDS = (
    r"\b(retino\w*|acids?|vitamin c|serums?|make-?up|exfoliat\w*|products?|creams?|sauna|swim\w*)\b"
)


def test_resume_advice_is_conditional():
    # Any sentence about starting a product again must leave the decision open.
    for slug, body in BODY_OF.items():
        for block in blocks_of(body):
            for sentence in re.split(r"(?<=[.!?])\s+", block):
                about_product = re.search(PRODUCT_WORDS, sentence, re.I)
                if about_product and re.search(RESUME_WORDS, sentence, re.I):
                    assert re.search(r"\b(if|practitioner|ask)\b", sentence, re.I), (slug, sentence)


def _sections(markdown_text: str) -> dict[str, list[str]]:
    """The list items under each level-two heading, by heading text."""
    sections: dict[str, list[str]] = {}
    heading = ""
    for line in markdown_text.splitlines():
        if line.startswith("## "):
            heading = line[3:].strip()
            sections[heading] = []
        elif line.startswith("- ") and heading:
            sections[heading].append(line[2:].strip())
    return sections


HELP_TIERS = {
    "Normal": [
        "redness like a mild sunburn for 1 to 3 days",
        "mild swelling that goes down each day",
        "a tight feeling in the skin",
        "flaking",
        "pinpoint bleeding on the day of the session",
    ],
    "Call your practitioner or a doctor today": [
        "redness or swelling that gets worse after about 3 days (72 hours)",
        "pus",
        "warmth that spreads",
        "red streaks",
        "fever or feeling unwell",
        "pain that gets worse",
        "a cold sore or blisters",
        "a patch that darkens",
        "new firm lumps in the weeks after",
    ],
    "Emergency now: call emergency services": [
        "sudden swelling of your lips, tongue or throat",
        "hives (raised, itchy welts) with swelling",
        "trouble breathing or swallowing",
        "red streaks with a fever and feeling very unwell",
        "blisters or sores spreading fast over your face",
    ],
}


def test_the_help_page_has_exactly_the_three_tiers():
    sections = _sections(BODY_OF["when-to-get-help"])
    for heading, signs in HELP_TIERS.items():
        assert sections[heading][: len(signs)] == signs, heading
    body = BODY_OF["when-to-get-help"]
    assert "out of hours" in body and "urgent care" in body


def test_fade_times_and_lasting_side_effects_are_not_played_down():
    pih = BODY_OF["what-is-pih"]
    assert "more than a year" in pih and "may never fade" in pih
    side_effects = BODY_OF["side-effects"].lower()
    for lasting in ("pih", "track-like scars", "granuloma"):
        assert lasting in side_effects, lasting
    for body in BODY_OF.values():
        assert not re.search(r"nearly always|weeks to a few months|always settle", body, re.I)


def test_the_pih_page_puts_first_line_care_before_microneedling():
    body = BODY_OF["microneedling-for-pih"]
    assert FRONT_OF["microneedling-for-pih"]["title"] == "Can microneedling help PIH?"
    first_line = body.index("Treat the cause")
    assert first_line < body.index("sun") < body.index("fading cream")
    assert body.index("fading cream") < body.index("What the evidence says about microneedling")
    assert "small studies" in body and "not settled" in body and "can itself cause PIH" in body
    assert "made for freshly needled skin" in body


def test_the_home_pen_page_speaks_to_someone_without_a_practitioner():
    body = BODY_OF["using-a-pen-at-home"]
    assert "your practitioner" not in body.lower()
    for who in ("a doctor", "pharmacist", "dermatologist"):
        assert who in body, who
    # The source's figures and the app's own limit are told apart.
    assert "0.25 mm" in body and "0.5 mm" in body and "This app's own advice" in body
    assert "new, sterile cartridge every time" in body and "Never share" in body


def test_the_when_not_page_speaks_to_clinic_clients_and_home_users():
    body = BODY_OF["when-not-to-microneedle"]
    assert "tell your practitioner" in body and "At home" in body and "see a doctor" in body
    for topic in (
        "Cold sores",
        "acne",
        "Isotretinoin",
        "tan or sunburn",
        "Pregnancy",
        "Blood thinners",
        "eczema or psoriasis",
        "Keloid",
        "mole",
        "Broken skin",
    ):
        assert topic in body, topic


# A term used on a page must be explained on that page.
JARGON = {
    r"broad-spectrum": r"guards against both",
    r"mineral sunscreen": r"zinc oxide",
    r"iron oxides": r"Iron oxides are",
    r"\bAHA\b|\bBHA\b": r"glycolic|salicylic",
    r"benzoyl peroxide": r"benzoyl peroxide, a common spot treatment",
    r"\bday 0\b": r"The day you needle is day 0",
    r"granuloma": r"A granuloma is",
    r"isotretinoin": r"Isotretinoin is",
    r"keloid": r"A keloid is",
}


@pytest.mark.parametrize("slug", sorted(REQUIRED_TOPICS))
def test_jargon_is_explained_where_it_appears(slug):
    body = BODY_OF[slug]
    for term, explanation in JARGON.items():
        if re.search(term, body, re.I):
            assert re.search(explanation, body), (slug, term)


def test_help_for_a_worried_reader_names_a_practitioner_or_a_doctor():
    for slug, body in BODY_OF.items():
        if slug == "using-a-pen-at-home":
            continue  # No practitioner at home: it names a doctor, pharmacist or dermatologist.
        assert "your practitioner or a doctor" in body, slug


def _write_page(folder: Path, name: str, front: str, body: str = "Some words.\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.md"
    path.write_text(f"+++\n{front}+++\n{body}")
    return path


# A clinic file written before the source registry: `reviewed`, `[[sources]]` tables.
OLD_CLINIC_FRONT = (
    'title = "Our own words on PIH"\nsummary = "Written by the clinic."\norder = 1\n'
    'reviewed = 2026-09-01\nreviewed_by = "Dr C. Clinic"\n'
    '[[sources]]\nname = "The clinic protocol binder"\n'
)
GOOD_FRONT = (
    'title = "Our own words on PIH"\nsummary = "Written by the clinic."\norder = 1\n'
    'updated = 2026-09-01\nsources = ["davis2010", "dermnet-pih"]\n'
)


def test_a_page_citing_an_unknown_id_stops_loading_naming_file_and_id(tmp_path):
    path = _write_page(tmp_path, "what-is-pih", GOOD_FRONT.replace("dermnet-pih", "nosuch2030"))
    with pytest.raises(ContentError) as raised:
        load_pages(tmp_path, REGISTRY)
    assert str(path) in str(raised.value) and "'nosuch2030'" in str(raised.value)


def test_an_unknown_id_in_a_clinic_file_stops_start_up(data_dir):
    path = _write_page(data_dir / "content", "side-effects", GOOD_FRONT.replace("davis", "dav"))
    with pytest.raises(ContentError, match="'dav2010'") as raised:
        create_app({"DATA_DIR": data_dir})
    assert str(path) in str(raised.value)


def test_a_clinic_registry_entry_can_be_cited_by_a_clinic_page(data_dir):
    data_dir.mkdir(parents=True)
    (data_dir / "sources.toml").write_text(
        '[[sources]]\nid = "clinic-binder"\ncitation = "Harbour Clinic protocol binder."\n'
        'link = "https://clinic.example/binder"\nkind = "Clinic protocol"\n'
        'read_on = 2026-11-30\nsupports = "Our own aftercare rules."\n'
    )
    _write_page(
        data_dir / "content", "what-is-pih", GOOD_FRONT.replace("davis2010", "clinic-binder")
    )
    html = create_app({"DATA_DIR": data_dir}).test_client().get("/learn/what-is-pih").text
    assert (
        "Harbour Clinic protocol binder." in html and 'href="https://clinic.example/binder"' in html
    )


def test_shipped_pages_may_not_use_the_old_keys_or_source_tables(tmp_path):
    path = _write_page(tmp_path, "what-is-pih", OLD_CLINIC_FRONT)
    with pytest.raises(ContentError, match="'updated' as date") as raised:
        parse_page(path, REGISTRY, from_clinic=False)
    assert str(path) in str(raised.value)
    _write_page(tmp_path, "what-is-pih", OLD_CLINIC_FRONT.replace("reviewed =", "updated ="))
    with pytest.raises(ContentError, match="not a source id") as raised:
        parse_page(path, REGISTRY, from_clinic=False)
    assert str(path) in str(raised.value)
    # The old file is accepted from a clinic.
    _write_page(tmp_path, "what-is-pih", OLD_CLINIC_FRONT)
    page = parse_page(path, REGISTRY, from_clinic=True)
    assert page.sources[0].citation == "The clinic protocol binder" and not page.sources[0].link


def test_old_clinic_file_still_overrides_a_shipped_page(data_dir):
    _write_page(data_dir / "content", "what-is-pih", OLD_CLINIC_FRONT, "## Local text\n\nHello.\n")
    client = create_app({"DATA_DIR": data_dir}).test_client()
    html = client.get("/learn/what-is-pih").text
    assert "Our own words on PIH" in html and "Local text" in html
    assert "The clinic protocol binder" in html
    assert "Last updated</dt>\n      <dd>1 September 2026</dd>" in html
    assert "Reviewed by Dr C. Clinic on 1 September 2026." in html
    assert "not yet reviewed" not in html and "changed since" not in html
    # The other shipped pages are untouched.
    assert "not yet reviewed by a clinician" in client.get("/learn/side-effects").text


def test_clinic_can_add_a_page(data_dir):
    _write_page(
        data_dir / "content", "our-aftercare-kit", GOOD_FRONT.replace("order = 1", "order = 9")
    )
    client = create_app({"DATA_DIR": data_dir}).test_client()
    assert client.get("/learn/our-aftercare-kit").status_code == 200
    assert "/learn/our-aftercare-kit" in client.get("/learn/").text


def test_page_reviewer_is_named_and_a_later_change_is_said_plainly(data_dir):
    reviewed = GOOD_FRONT + 'reviewed_by = "Dr C. Clinic"\nreviewed_on = 2026-09-01\n'
    _write_page(data_dir / "content", "what-is-pih", reviewed)
    _write_page(
        data_dir / "content",
        "side-effects",
        reviewed.replace("updated = 2026-09-01", "updated = 2026-10-02"),
    )
    client = create_app({"DATA_DIR": data_dir}).test_client()
    html = client.get("/learn/what-is-pih").text
    assert "Reviewed by Dr C. Clinic on 1 September 2026.</dd>" in html
    changed = " ".join(client.get("/learn/side-effects").text.split())
    assert (
        "Reviewed by Dr C. Clinic on 1 September 2026. This page has changed since "
        "(last updated 2 October 2026)." in changed
    )


def test_site_reviewer_applies_only_to_pages_not_changed_since(data_dir):
    _write_page(data_dir / "content", "our-own-page", GOOD_FRONT.replace("order = 1", "order = 9"))
    app = create_app(
        {
            "DATA_DIR": data_dir,
            "CONTENT_REVIEWER": "Dr A. Example, dermatologist",
            "CONTENT_REVIEWED_ON": date(2026, 10, 1),
        }
    )
    client = app.test_client()
    # Updated 1 September, reviewed 1 October: covered by the review.
    html = " ".join(client.get("/learn/our-own-page").text.split())
    assert "Reviewed by Dr A. Example, dermatologist on 1 October 2026.</dd>" in html
    assert "changed since" not in html and "not yet reviewed" not in html
    # Shipped pages updated 5 December: the review is older, and the page says so.
    page = load_pages()["what-is-pih"]
    assert page.updated > date(2026, 10, 1)
    html = " ".join(client.get("/learn/what-is-pih").text.split())
    assert (
        "Reviewed by Dr A. Example, dermatologist on 1 October 2026. This page has changed since "
        f"(last updated {page.updated.day} {page.updated:%B %Y})." in html
    )


def test_raw_html_in_clinic_markdown_is_shown_as_text(data_dir):
    _write_page(data_dir / "content", "what-is-pih", GOOD_FRONT, "<script>alert(1)</script>\n")
    html = create_app({"DATA_DIR": data_dir}).test_client().get("/learn/what-is-pih").text
    assert "<script>alert" not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize(
    ("name", "front", "message"),
    [
        ("what-is-pih", GOOD_FRONT.replace('title = "Our own words on PIH"\n', ""), "'title'"),
        ("what-is-pih", GOOD_FRONT.split("sources =")[0], "list of source ids"),
        ("what-is-pih", GOOD_FRONT.replace("sources = [", "sources = [7, "), "not a source id"),
        ("what-is-pih", GOOD_FRONT.replace("2026-09-01", '"soon"'), "'updated' as date"),
        ("what-is-pih", OLD_CLINIC_FRONT.replace("2026-09-01", '"soon"'), "'reviewed' as date"),
        ("what-is-pih", GOOD_FRONT + 'reviewed_by = "Dr B"\n', "no 'reviewed_on'"),
        ("what-is-pih", GOOD_FRONT + "reviewed_on = 2026-09-02\n", "no 'reviewed_by'"),
        ("what-is-pih", GOOD_FRONT + "broken = [\n", "not valid TOML"),
        ("Bad_Name", GOOD_FRONT, "lower-case letters"),
    ],
)
def test_broken_clinic_page_stops_start_up_naming_the_file(data_dir, name, front, message):
    path = _write_page(data_dir / "content", name, front)
    with pytest.raises(ContentError, match=message) as raised:
        create_app({"DATA_DIR": data_dir})
    assert str(path) in str(raised.value)


def test_file_without_front_matter_is_rejected(data_dir):
    folder = data_dir / "content"
    folder.mkdir(parents=True)
    (folder / "side-effects.md").write_text("# Just markdown\n")
    with pytest.raises(ContentError, match="front matter"):
        create_app({"DATA_DIR": data_dir})
