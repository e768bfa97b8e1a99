"""Signature reports: a plain-data model of what a pull request does to each model,
and renderers that turn it into PR/MR comments, job summaries, text, JSON and JUnit.

`model` holds the dataclasses, `build` assembles them from check, verify and git
results, `render` turns them into text with the Jinja2 templates in `templates/`.
"""
