"""Regenerate docs/screenshot.svg: the real app, headless, against the fake server.

    .venv/bin/python scripts/screenshot.py

Runs lmtui at 120x40 against the project's fake LM Studio server, sends a prompt,
waits for the streamed Markdown reply to finish and saves Textual's SVG
screenshot, so the README's picture always shows the current UI.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REPLY = """Here is a TypeScript email validator:

```typescript
export function isEmail(value: string): boolean {
  return /^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$/.test(value.trim());
}
```

- **Trims** the input first
- Rejects spaces and a missing domain
"""


async def main() -> int:
    """Drive the app and write the screenshot."""
    import os

    tmp = tempfile.mkdtemp(prefix="lmtui-shot-")
    for name in ("CONFIG", "DATA", "STATE", "CACHE"):
        os.environ[f"XDG_{name}_HOME"] = f"{tmp}/{name.lower()}"
    from lmtui.store.config import Config
    from lmtui.ui.app import LmtuiApp
    from tests.fake_server import FakeServer, Reply

    with FakeServer() as fake:
        fake.enqueue(Reply(text=REPLY, delta_delay=0.012))
        app = LmtuiApp(
            Config(base_url=fake.base_url, model="qwen2.5-7b-instruct"),
            server_label="LM Studio · localhost:1234",
        )
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause(0.5)
            app.composer.insert("Write a TypeScript function to validate email.")
            await pilot.press("enter")
            for _ in range(300):
                await pilot.pause(0.02)
                if not app.streaming and len(app.session.entries) == 2:
                    break
            await pilot.pause(0.3)
            out = ROOT / "docs" / "screenshot.svg"
            app.save_screenshot(filename=out.name, path=str(out.parent))
            print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
