"""What every benchmark script ends with: the JSON report in bench/results/ and an exit code."""

from __future__ import annotations

import json
import platform
from datetime import UTC
from datetime import datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def write_report(name: str, rows: list[dict], **extra) -> int:
    """Write bench/results/<name>.json; exit code 0 when every row passed, else 1."""
    RESULTS.mkdir(exist_ok=True)
    report = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.system()} {platform.release()}",
        **extra,
        "rows": rows,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"wrote bench/results/{path.name}")
    return 0 if all(row["pass"] for row in rows) else 1
