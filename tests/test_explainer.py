"""The PIH explainer: content rules, clinic overrides, review status and readability."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from readability import blocks_of
from readability import flesch_kincaid_grade

from pwa import create_app
from pwa.explainer import SHIPPED_DIR
from pwa.explainer import ContentError
from pwa.explainer import load_pages

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_f1302d84a8151952.txt"
REQUIRED_TOPICS = {
    "what-is-pih",
    "who-is-at-risk",
    "microneedling-for-pih",
    "side-effects",
    "what-is-microneedling",
    "when-to-get-help",
}
SHIPPED = sorted(SHIPPED_DIR.glob("*.md"))
BODY_OF = {path.stem: path.read_text().split("+++", 2)[2] for path in SHIPPED}
MAX_GRADE = 8.0


def test_all_six_topics_ship_in_reading_order():
    pages = load_pages()
    assert set(pages) == REQUIRED_TOPICS
    assert [p.order for p in pages.values()] == sorted(p.order for p in pages.values())


@pytest.mark.parametrize("slug", sorted(REQUIRED_TOPICS))
def test_explainer_page_shows_heading_sources_and_review_status(client, slug):
    page = load_pages()[slug]
    html = client.get(f"/learn/{slug}").text
    assert f"<h1>{page.title}</h1>" in html.replace("&#39;", "'")
    assert "Sources and review" in html and len(page.sources) >= 2
    assert "Last reviewed" in html and page.reviewed <= date.today()
    assert "Written from the sources below; not yet reviewed by a clinician." in html


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


@pytest.mark.skipif(not SEED.exists(), reason="shared/seed is not beside this checkout")
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


def test_the_help_page_names_the_warning_signs():
    body = BODY_OF["when-to-get-help"].lower()
    for sign in (
        "72 hours",
        "pus",
        "fever",
        "blisters",
        "lips",
        "dark patch",
        "breathing",
        "throat",
    ):
        assert sign in body, sign
    assert "emergency" in body


def _write_page(folder: Path, name: str, front: str, body: str = "Some words.\n") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.md"
    path.write_text(f"+++\n{front}+++\n{body}")
    return path


GOOD_FRONT = (
    'title = "Our own words on PIH"\nsummary = "Written by the clinic."\norder = 1\n'
    'reviewed = 2026-09-01\nreviewed_by = "Dr C. Clinic"\n'
    '[[sources]]\nname = "The clinic protocol binder"\n'
)


def test_clinic_file_overrides_a_shipped_page(data_dir):
    _write_page(data_dir / "content", "what-is-pih", GOOD_FRONT, "## Local text\n\nHello.\n")
    client = create_app({"DATA_DIR": data_dir}).test_client()
    html = client.get("/learn/what-is-pih").text
    assert "Our own words on PIH" in html and "Local text" in html
    assert "1 September 2026, by Dr C. Clinic." in html
    assert "not yet reviewed" not in html
    # The other shipped pages are untouched.
    assert "not yet reviewed by a clinician" in client.get("/learn/side-effects").text


def test_clinic_can_add_a_page(data_dir):
    _write_page(
        data_dir / "content", "our-aftercare-kit", GOOD_FRONT.replace("order = 1", "order = 9")
    )
    client = create_app({"DATA_DIR": data_dir}).test_client()
    assert client.get("/learn/our-aftercare-kit").status_code == 200
    assert "/learn/our-aftercare-kit" in client.get("/learn/").text


def test_configured_reviewer_replaces_the_unreviewed_notice(data_dir):
    app = create_app(
        {
            "DATA_DIR": data_dir,
            "CONTENT_REVIEWER": "Dr A. Example, dermatologist",
            "CONTENT_REVIEWED_ON": date(2026, 10, 1),
        }
    )
    html = app.test_client().get("/learn/what-is-pih").text
    assert "1 October 2026, by Dr A. Example, dermatologist." in html
    assert "not yet reviewed" not in html


def test_raw_html_in_clinic_markdown_is_shown_as_text(data_dir):
    _write_page(data_dir / "content", "what-is-pih", GOOD_FRONT, "<script>alert(1)</script>\n")
    html = create_app({"DATA_DIR": data_dir}).test_client().get("/learn/what-is-pih").text
    assert "<script>alert" not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize(
    ("name", "front", "message"),
    [
        ("what-is-pih", GOOD_FRONT.replace('title = "Our own words on PIH"\n', ""), "'title'"),
        ("what-is-pih", GOOD_FRONT.split("[[sources]]")[0], "at least one"),
        ("what-is-pih", GOOD_FRONT.replace("2026-09-01", '"soon"'), "'reviewed' as date"),
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
