"""Writes the AWS service models the sandbox's wire protocols are driven by.

The models are botocore's (Apache-2.0, from PyPI), with the documentation strings
removed. SQS's Query model comes from botocore 1.31.0, the last release that described
SQS over the Query protocol (with its XML element names); the others from the botocore
passed on the command line (EventBridge's JSON needs no model: its
bodies are the JSON form already): python3 strip.py SITE_PACKAGES/botocore OLD_BOTOCORE.
"""
import gzip, json, os, sys

def load(path):
    for p in (path, path + ".gz"):
        if os.path.exists(p):
            return json.load(gzip.open(p) if p.endswith(".gz") else open(p))
    raise SystemExit(f"missing {path}")

def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k not in ("documentation", "examples", "documentationUrl")}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node

new, old = sys.argv[1], sys.argv[2]
for out, base, rel in [
    ("sqs-query.json", old, "sqs/2012-11-05"),
    ("sns.json", new, "sns/2010-03-31"),
    ("kinesis.json", new, "kinesis/2013-12-02"),
]:
    model = strip(load(os.path.join(base, "data", rel, "service-2.json")))
    with open(out, "w") as f:
        json.dump(model, f, separators=(",", ":"), sort_keys=True)
        f.write("\n")
