"""A broken engine: answers hello, then writes a line that is not JSON."""

import json
import sys

for line in sys.stdin:
    if json.loads(line).get("type") == "hello":
        print(json.dumps({"format": 1, "type": "hello", "name": "malformed", "profiles": "any",
                          "operations": ["equity_quote", "liquidate"]}), flush=True)
    else:
        print("{'id': 1, ok: yes}", flush=True)
