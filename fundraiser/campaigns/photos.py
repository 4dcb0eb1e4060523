"""Campaign photos: resized with Pillow to a few widths, stored under fingerprinted names."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, url_for
from PIL import Image, ImageOps, UnidentifiedImageError

from fundraiser.models import Campaign

#: Widths offered in srcset; a photo is never enlarged past its own width.
WIDTHS = (480, 960, 1600)
MAX_BYTES = 20 * 1024 * 1024
JPEG_QUALITY = 80


class PhotoError(ValueError):
    """The file is not a photo we can use; the message says why."""


@dataclass(frozen=True)
class PhotoSources:
    src: str
    srcset: str
    width: int
    height: int
    largest: str


def media_dir() -> Path:
    return Path(current_app.config["MEDIA_DIR"])


def attach_photo(campaign: Campaign, data: bytes) -> list[str]:
    """Resize `data` to every width, write the files, point the campaign at them; their names."""
    if len(data) > MAX_BYTES:
        raise PhotoError("That photo is over 20 MB; please send a smaller one.")
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()
            image = ImageOps.exif_transpose(opened).convert("RGB")
    except (UnidentifiedImageError, OSError) as exc:
        raise PhotoError("That file isn't a JPEG, PNG or WebP photo we can read.") from exc
    # The name changes with the photo's bytes, so its files may be cached for ever.
    key = f"{campaign.slug}-{hashlib.sha256(data).hexdigest()[:12]}"
    widths = sorted({min(w, image.width) for w in WIDTHS})
    folder = media_dir()
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for width in widths:
        height = round(image.height * width / image.width)
        resized = image.resize((width, height), Image.Resampling.LANCZOS)
        name = f"{key}-{width}.jpg"
        resized.save(folder / name, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
        names.append(name)
    campaign.photo_key = key
    campaign.photo_widths = ",".join(map(str, widths))
    campaign.photo_ratio_milli = round(image.height * 1000 / image.width)
    campaign.content_version = (campaign.content_version or 0) + 1
    return names


def photo_sources(campaign: Campaign) -> PhotoSources | None:
    """What an <img> needs for the campaign's photo, or None when it has none."""
    if not campaign.photo_key or not campaign.photo_widths:
        return None
    widths = [int(w) for w in campaign.photo_widths.split(",")]

    def url(width: int) -> str:
        return url_for("campaigns.media", name=f"{campaign.photo_key}-{width}.jpg")

    middle = next((w for w in widths if w >= 960), widths[-1])
    return PhotoSources(
        src=url(middle),
        srcset=", ".join(f"{url(w)} {w}w" for w in widths),
        width=middle,
        height=round(middle * campaign.photo_ratio_milli / 1000),
        largest=url(widths[-1]),
    )
