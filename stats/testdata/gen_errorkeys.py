"""Generate errorkeys.json: Locust's StatsError keys and parsed errors.

Run with a Python that has locust installed:
    python stats/testdata/gen_errorkeys.py > stats/testdata/errorkeys.json
"""

import json

from locust.stats import StatsError

errors = [
    "", "plain", "it's", 'say "hi"', "both ' and \"", "back\\slash", "new\nline", "tab\there",
    "cr\rlf", "nul\x00byte", "bell\x07", "esc\x1b[0m", "del\x7f", "latin é ñ ü", "\x80\x9f\xa0\xad",
    "zero\u200bwidth", "rtl\u202emark", "bom\ufeff", "line\u2028sep", "nbsp\u00a0x", "ideo\u3000sp",
    "emoji 😀🎉", "cjk 中文字", "private \ue000", "astral \U0001d11e", "tag \U000e0041",
    "unassigned \u0378", "ConnectionError(<urllib3.connection.HTTPConnection object at 0x7f3c2a1b9d30>)",
    "<Foo object at 0x10ab> and again 0x10ab", "object at 0xdead without close",
    "two <A object at 0x1> <B object at 0x2>", "CatchResponseError('Got wrong response')",
    "HTTPError('500 Server Error: Internal Server Error for url: http://x/y?a=1&b=\\'2\\'')",
    "'single-quoted'", '"double-quoted"', "\\'", "\\\"", "mixed\t\n\r\\'\"end",
]
cases = []
for method, name in (("GET", "/"), ("POST", "/api/items?id=1"), ("", "Aggregated"), ("CUSTOM", "naïve ✓")):
    for err in errors:
        cases.append({
            "method": method,
            "name": name,
            "error": err,
            "parsed": StatsError.parse_error(err),
            "repr": repr(StatsError.parse_error(err)),
            "key": StatsError.create_key(method, name, err),
        })
print(json.dumps(cases, indent=1))
