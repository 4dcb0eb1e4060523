"""Proof and sharing: the campaign photo, preview cards, the meta description, share links."""

from __future__ import annotations

import hashlib
import io
import re

from PIL import Image

from tests.helpers import donate, pay, session_id_from


def jpeg(width: int = 2000, height: int = 1000) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (179, 38, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def meta(markup: str, key: str) -> str | None:
    found = re.search(rf'<meta (?:property|name)="{re.escape(key)}" content="([^"]*)">', markup)
    return found.group(1) if found else None


def test_a_photo_is_resized_fingerprinted_and_cached_for_ever(
    app, runner, client, campaign, tmp_path
):
    data = jpeg()
    source = tmp_path / "photo.jpg"
    source.write_bytes(data)
    result = runner.invoke(args=["campaign", "photo", campaign, str(source)])
    assert result.exit_code == 0, result.output
    stem = f"{campaign}-{hashlib.sha256(data).hexdigest()[:12]}"
    markup = client.get("/").get_data(as_text=True)
    img = re.search(r'<img src="([^"]+)" srcset="([^"]+)"[^>]*width="(\d+)" height="(\d+)"', markup)
    assert img, "no photo on the page"
    assert img.group(2) == ", ".join(f"/media/{stem}-{w}.jpg {w}w" for w in (480, 960, 1600))
    assert (img.group(3), img.group(4)) == ("960", "480")
    response = client.get(f"/media/{stem}-480.jpg")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert "immutable" in response.headers["Cache-Control"]
    assert response.cache_control.max_age >= 365 * 24 * 3600
    assert Image.open(io.BytesIO(response.data)).size == (480, 240)
    assert meta(markup, "og:image") == f"{app.config['BASE_URL']}/media/{stem}-1600.jpg"
    assert meta(markup, "twitter:card") == "summary_large_image"
    assert client.get("/media/nothing-here.jpg").status_code == 404


def test_a_small_photo_is_never_enlarged(runner, client, campaign, tmp_path):
    source = tmp_path / "small.png"
    Image.new("RGB", (600, 400)).save(source, "PNG")
    assert runner.invoke(args=["campaign", "photo", campaign, str(source)]).exit_code == 0
    srcset = re.search(r'srcset="([^"]+)"', client.get("/").get_data(as_text=True)).group(1)
    assert [w.split()[-1] for w in srcset.split(", ")] == ["480w", "600w"]


def test_a_file_that_is_not_a_photo_is_refused(runner, campaign, tmp_path):
    source = tmp_path / "notes.jpg"
    source.write_text("not a photo")
    result = runner.invoke(args=["campaign", "photo", campaign, str(source)])
    assert result.exit_code != 0 and "isn't a JPEG, PNG or WebP" in result.output


def test_without_a_photo_the_caption_is_text_and_the_card_is_a_summary(client, campaign):
    markup = client.get("/").get_data(as_text=True)
    assert "<figure" not in markup and "photo-placeholder" not in markup
    assert meta(markup, "twitter:card") == "summary" and meta(markup, "og:image") is None


def test_preview_cards_and_the_meta_description_tell_the_article(app, client, campaign):
    markup = client.get("/").get_data(as_text=True)
    title = "What lies behind Kazakhstan’s turmoil?"
    assert meta(markup, "og:title") == title and meta(markup, "twitter:title") == title
    description = meta(markup, "description")
    assert description.startswith("The mass revolt in Kazakhstan at the beginning of this year")
    assert len(description) <= 160 and description.endswith("…")
    assert meta(markup, "og:description") == description
    assert meta(markup, "og:url") == f"{app.config['BASE_URL']}/campaigns/{campaign}"


def test_the_thank_you_page_has_plain_share_links_and_no_third_party_script(
    client, campaign, stripe_sim
):
    paid = session_id_from(donate(client, campaign, amount="10"))
    pay(stripe_sim, paid)
    markup = client.get(f"/donate/thanks?session_id={paid}").get_data(as_text=True)
    links = re.findall(r'<ul class="share-links">(.*?)</ul>', markup, re.DOTALL)[0]
    for host in ("wa.me", "t.me", "facebook.com", "x.com", "bsky.app", "mailto:"):
        assert host in links, host
    assert "kazakhstan" in links
    assert re.findall(r"<script[^>]*src=\"(https?:)?//", markup) == []
