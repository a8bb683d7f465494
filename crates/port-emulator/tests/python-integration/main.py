"""Resync handler of the emulator's sample integration: a deterministic list of items.

SAMPLE_ITEM_COUNT sets how many items the source "has", so a second run with fewer items makes
Ocean's reconciliation delete the missing ones.
"""

import os
from typing import Any

from port_ocean.context.ocean import ocean


def make_item(i: int) -> dict[str, Any]:
    return {
        "key": f"ITEM-{i:03d}",
        "name": f"Sample item {i}",
        "status": "open" if i % 2 == 0 else "closed",
        "score": i * 1.5,
        "tags": [f"t{i % 3}"],
        "group": f"group-{i % 3}",
        "owner": None if i % 5 == 0 else f"user{i}@example.com",
    }


@ocean.on_resync("item")
async def on_resync_items(kind: str) -> list[dict[str, Any]]:
    count = int(os.environ.get("SAMPLE_ITEM_COUNT", "30"))
    return [make_item(i) for i in range(count)]
