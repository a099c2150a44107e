"""A tiny channel adapter: a self-service kiosk in a service hall (现场投诉).

It files the complaints typed in at the kiosk, each with the photo taken
there, and prints each one's tracking number for the visitor's receipt. It
uses nothing of tousu but the adapter kit (``tousu.kit``) and the JSON Schemas
shipped with it: the kit checks every submission against them before sending.

Run it with the kiosk's forms, a JSON list (``reference`` is the kiosk's own
id for the form, ``photo`` a file beside the list)::

    TOUSU_NATS_URL=nats://127.0.0.1:4222 \\
    TOUSU_CREDENTIAL=$(tousu credentials issue channel walk_in) \\
    TOUSU_GATEWAY_URL=http://127.0.0.1:8080 \\
    TOUSU_API_TOKEN=<the kiosk's operator account's API token: tousu users token> \\
    python docs/examples/channel_adapter.py forms.json

Each form gives one line of JSON on stdout: the reference, the tracking number,
whether it had been filed before, and the status read back. Run it again with
the same forms and nothing new is filed: each reference names its complaint.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from tousu.kit import ChannelClient, Refused, Unavailable

# A kiosk in the service hall: its complaints are walk-ins (现场), which the
# policy asks to register with the visitor's name and a phone or address.
CHANNEL = "walk_in"


def submission(form: dict[str, Any], photos: list[dict[str, Any]]) -> dict[str, Any]:
    """The kiosk's form as tousu's submission schema has it."""
    return {
        "channel": CHANNEL,
        "complainant": {"name": form["name"], "phone": form["phone"]},
        "subject": form["subject"],
        "description": form["description"],
        "location": form.get("location"),
        "attachments": photos,
    }


async def file_one(tousu: ChannelClient, form: dict[str, Any], folder: Path) -> dict[str, Any]:
    # Upload first (sealed for the visitor's phone, as the submission names it),
    # then name the answered reference in the submission.
    photos = [
        await tousu.upload(folder / name, name, "image/jpeg", phone=form["phone"])
        for name in form.get("photos", [])
    ]
    filed = await tousu.submit(submission(form, photos), reference=form["reference"])
    # Read back as the visitor will ask for it: their number, and their phone.
    status = await tousu.status(filed.tracking_no, contact=form["phone"])
    return {
        "reference": form["reference"],
        "tracking_no": filed.tracking_no,
        "complaint_id": filed.complaint_id,
        "repeated": filed.repeated,
        "status": status.get("status"),
        "attachments": len(photos),
    }


async def main(forms: list[dict[str, Any]], folder: Path) -> int:
    failed = 0
    async with ChannelClient(
        os.environ["TOUSU_NATS_URL"],
        os.environ["TOUSU_CREDENTIAL"],
        subject_root=os.environ.get("TOUSU_SUBJECT_ROOT", "tousu"),
        gateway_url=os.environ["TOUSU_GATEWAY_URL"],
        api_token=os.environ["TOUSU_API_TOKEN"],
    ) as tousu:
        for form in forms:
            try:
                line = await file_one(tousu, form, folder)
            except Refused as refused:
                # The form is wrong (or not this kiosk's): tell the visitor why.
                line = {
                    "reference": form.get("reference"),
                    "refused": refused.code,
                    "message": refused.message,
                    "details": refused.details,
                }
                failed += 1
            except Unavailable as away:
                # tousu is away: keep the form and try again later, same reference.
                line = {"reference": form.get("reference"), "unavailable": str(away)}
                failed += 1
            print(json.dumps(line, ensure_ascii=False), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    forms_file = Path(sys.argv[1])
    forms = json.loads(forms_file.read_text(encoding="utf-8"))
    sys.exit(asyncio.run(main(forms, forms_file.parent)))
