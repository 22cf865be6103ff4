# Oracle for glocust's option parser: parses cases with Locust's own parser.
# stdin: JSON list of {"args": [...], "env": {...}, "conf": "..." or null}
# stdout: JSON list of {"code": int, "err": str, "vars": {...}}
import contextlib, io, json, os, sys

cases = json.load(sys.stdin)
results = []
for c in cases:
    saved = os.environ.get("LOCUST_USER_CLASSES")
    env = c.get("env") or {}
    if "LOCUST_USER_CLASSES" in env:
        os.environ["LOCUST_USER_CLASSES"] = env["LOCUST_USER_CLASSES"]
    else:
        os.environ.pop("LOCUST_USER_CLASSES", None)
    from locust.argument_parser import get_parser
    p = get_parser(default_config_files=[])
    err = io.StringIO()
    res = {"code": 0, "err": "", "vars": None}
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            ns = p.parse_args(args=c["args"], env_vars=env, config_file_contents=c.get("conf"))
            if ns.stats_history_enabled and ns.csv_prefix is None:
                p.error("'--csv-full-history' requires '--csv'.")
        res["vars"] = {k: v for k, v in vars(ns).items() if isinstance(v, (str, int, float, bool, list, type(None)))}
    except SystemExit as e:
        res["code"] = e.code if isinstance(e.code, int) else 1
        res["err"] = err.getvalue()
    results.append(res)
    if saved is None:
        os.environ.pop("LOCUST_USER_CLASSES", None)
    else:
        os.environ["LOCUST_USER_CLASSES"] = saved
json.dump(results, sys.stdout)
