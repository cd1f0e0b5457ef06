"""Sample knowledge documents with embeddings (docs/data-model.md, "Sample data"), as data.

They are created through the knowledge services, so they are embedded by the configured
embedder (the offline hashed n-gram model by default: the same vectors on every run).
"""

from __future__ import annotations

import uuid
from typing import Any

from apps.core.seeding import SeedReport, seed_id
from apps.knowledge import selectors, services
from apps.knowledge.errors import DocumentNotFoundError

DOCUMENTS: list[dict[str, Any]] = [
    {
        "name": "Video Ad Best Practices",
        "description": "What makes a short video ad perform.",
        "content": (
            "Hook viewers in the first three seconds. Design for sound off: burn in captions "
            "and put the message in text on screen. Show the product early and the brand "
            "logo within five seconds. Keep ads for feeds between 6 and 15 seconds, use a "
            "vertical 9:16 frame for stories and reels, and end on one clear call to action."
        ),
        "category": "best-practices",
        "tags": ["video", "creative", "hooks"],
        "source": "internal playbook",
        "author": "Creative Team",
    },
    {
        "name": "Meta Ads Optimization Guide",
        "description": "Campaign structure, bidding and creative testing on Meta.",
        "content": (
            "Consolidate ad sets so each exits the learning phase with about 50 conversions "
            "a week. Prefer broad targeting with Advantage+ audiences and let the creative do "
            "the targeting. Test three to five creatives per ad set, rotate out fatigued ads "
            "when frequency passes 3, and optimise for the event closest to revenue."
        ),
        "category": "platform-guides",
        "tags": ["meta", "facebook", "instagram", "optimization"],
        "source": "Meta Business Help Center notes",
        "author": "Performance Team",
    },
    {
        "name": "ROAS Calculation Methods",
        "description": "How return on ad spend is measured and compared.",
        "content": (
            "ROAS is revenue attributed to ads divided by ad spend: 500 USD of revenue on "
            "100 USD of spend is a ROAS of 5. Compare campaigns on the same attribution "
            "window (7-day click, 1-day view). Break-even ROAS is 1 / gross margin; blended "
            "ROAS divides total revenue by total spend across every platform."
        ),
        "category": "analytics",
        "tags": ["roas", "metrics", "attribution"],
        "source": "internal analytics handbook",
        "author": "Analytics Team",
    },
]


def document_id(name: str) -> uuid.UUID:
    """The fixed id of the sample document named ``name``."""
    return seed_id("knowledge_documents", name)


async def _exists(fixed_id: uuid.UUID) -> bool:
    try:
        await selectors.document_get(document_id=fixed_id, include_deleted=True)
    except DocumentNotFoundError:
        return False
    return True


async def seed_knowledge() -> SeedReport:
    """Create the sample documents that are missing, embedded by the configured embedder."""
    missing = [
        document for document in DOCUMENTS if not await _exists(document_id(document["name"]))
    ]
    for document in missing:
        await services.document_create(
            document_id=document_id(document["name"]), metadata={"language": "en"}, **document
        )
    report = SeedReport()
    report.count("knowledge_documents", rows=len(DOCUMENTS), created=len(missing))
    return report
