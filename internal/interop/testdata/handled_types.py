# Prints, as JSON, the message types that the installed Locust's
# MasterRunner and WorkerRunner dispatch on: the string literals compared
# with msg.type (`msg.type == "x"` before 2.42.6, `case "x":` after) in
# locust/runners.py, read with ast, without importing Locust:
#   {"master": [types a master handles], "worker": [types a worker handles]}
# TestVersionTableMatchesLocust compares them with protocol.Changes.
import ast
import importlib.util
import json
import os


def is_msg_type(node):
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "type"
        and isinstance(node.value, ast.Name)
        and node.value.id == "msg"
    )


def strings(pattern):
    if isinstance(pattern, ast.MatchValue) and isinstance(pattern.value, ast.Constant):
        yield pattern.value.value
    elif isinstance(pattern, ast.MatchOr):
        for p in pattern.patterns:
            yield from strings(p)


def handled(cls):
    out = set()
    for node in ast.walk(cls):
        if isinstance(node, ast.Compare) and is_msg_type(node.left):
            for op, right in zip(node.ops, node.comparators):
                if isinstance(op, ast.Eq) and isinstance(right, ast.Constant):
                    out.add(right.value)
        elif isinstance(node, ast.Match) and is_msg_type(node.subject):
            for case in node.cases:
                out.update(strings(case.pattern))
    return sorted(out)


pkg = importlib.util.find_spec("locust").submodule_search_locations[0]
with open(os.path.join(pkg, "runners.py"), encoding="utf-8") as f:
    tree = ast.parse(f.read())
classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
print(json.dumps({"master": handled(classes["MasterRunner"]), "worker": handled(classes["WorkerRunner"])}))
