# Loads a locustfile as Locust does and prints, as JSON, what a master reads
# from it: per user class its weight, fixed_count, host, wait_time (the
# call written in the class body, read with ast) and tasks (__name__ ->
# weight, i.e. entries in the class's task list, and tags); and the
# defaults of the options named on the command line (custom arguments).
#   python inspect_locustfile.py locustfile.py [option ...]
import ast
import json
import sys

from locust import argument_parser
from locust.util.load_locustfile import load_locustfile

path = sys.argv[1]
with open(path) as f:
    tree = ast.parse(f.read(), path)

waits = {}
for node in tree.body:
    if isinstance(node, ast.ClassDef):
        for st in node.body:
            if isinstance(st, ast.Assign) and getattr(st.targets[0], "id", "") == "wait_time":
                waits[node.name] = [st.value.func.id] + [ast.literal_eval(a) for a in st.value.args]

classes, _ = load_locustfile(path)
out = {"classes": {}, "options": {}}
for name, cls in classes.items():
    tasks = {}
    for t in cls.tasks:
        e = tasks.setdefault(t.__name__, {"weight": 0, "tags": sorted(getattr(t, "locust_tag_set", []))})
        e["weight"] += 1
    out["classes"][name] = {
        "weight": cls.weight,
        "fixed_count": cls.fixed_count,
        "host": cls.host,
        "wait": waits.get(name),
        "tasks": tasks,
    }
opts = argument_parser.get_parser(default_config_files=[]).parse_args([])
for name in sys.argv[2:]:
    out["options"][name] = getattr(opts, name, None)
print(json.dumps(out))
