"""The differential oracle's support code: uploads generated and mutated in code, the gate run in
process on each, the real loaders (PEFT, transformers) run on the same folder, and the judge that
says where the two disagree.

Only `loaders` and `facts` import torch; everything else works without the `oracle` extra, so the
judge's own tests run anywhere.
"""
