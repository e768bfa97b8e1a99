"""The use cases (check, refresh, sign, verify, report, comment), one module each.

Every entry point (the CLI, the hooks, the demo, the Action's steps) calls these with
typed arguments and gets plain data back; printing and exit codes stay with the caller.
"""
