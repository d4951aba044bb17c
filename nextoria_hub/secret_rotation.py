"""Re-encrypting every stored secret under the newest master key (``nextoria secrets rotate``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from nextoria_hub.models import StripeKeys
from nextoria_hub.models.ids import require_id
from nextoria_hub.secret_box import is_current, reseal

# (table, sealed columns): every place a sealed secret lives.
SEALED_FIELDS: tuple[tuple[type[StripeKeys], tuple[str, ...]], ...] = (
    (StripeKeys, ("secret_key_sealed", "webhook_secret_sealed")),
)


@dataclass
class RotationCounts:
    resealed: int = 0
    already_current: int = 0


def rotate_secrets(db: Session, batch_size: int = 100) -> RotationCounts:
    """Reseal row by row, committing each batch, so an interrupted run can simply run again."""
    counts = RotationCounts()
    for model, fields in SEALED_FIELDS:
        last_id = 0
        while True:
            rows = db.exec(
                select(model)
                .where(col(model.id) > last_id)
                .order_by(col(model.id))
                .limit(batch_size)
            ).all()
            if not rows:
                break
            for row in rows:
                for name in fields:
                    sealed = getattr(row, name)
                    if not sealed:
                        continue
                    if is_current(sealed):
                        counts.already_current += 1
                    else:
                        setattr(row, name, reseal(sealed))
                        counts.resealed += 1
                db.add(row)
                last_id = require_id(row)
            db.commit()
    return counts
