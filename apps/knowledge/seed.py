"""Sample knowledge documents with embeddings (DATA_MODEL.md, "Sample data"), as data.

The embeddings are deterministic unit vectors derived from each document's name: the same
on every run, and distinct per document, without calling an embedding model.
"""

from __future__ import annotations

import math
import random
from typing import Any

from pgvector import Vector

from apps.core.seeding import SeedReport, insert_missing, seed_id
from apps.knowledge.tables import EMBEDDING_DIMENSIONS, KnowledgeDocument

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


def sample_embedding(text: str) -> list[float]:
    """A deterministic unit vector of EMBEDDING_DIMENSIONS floats derived from ``text``."""
    generator = random.Random(text)
    values = [generator.gauss(0.0, 1.0) for _ in range(EMBEDDING_DIMENSIONS)]
    norm = math.sqrt(sum(value * value for value in values))
    return [value / norm for value in values]


def document_id(name: str) -> Any:
    return seed_id("knowledge_documents", name)


async def seed_knowledge() -> SeedReport:
    """Create the sample knowledge documents (with embeddings) when missing."""
    report = SeedReport()
    rows = [
        {
            "id": document_id(document["name"]),
            **document,
            # A pgvector Vector, not a list: Piccolo warns about lists of > 100 values.
            "embedding": Vector(sample_embedding(document["name"])),
            "metadata": {"language": "en"},
        }
        for document in DOCUMENTS
    ]
    # TODO(lead): switch to the knowledge service document_create once merged.
    created = await insert_missing(KnowledgeDocument, rows)
    report.count("knowledge_documents", rows=len(rows), created=len(created))
    return report
