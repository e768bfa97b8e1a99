"""GitHub Actions glue: what the steps of `action.yml` run (`modelseal action ...`).

The composite actions stay thin: they install modelseal and call `modelseal action`,
passing inputs through environment variables. Everything that decides anything
lives here, as small functions tested by `tests/*/test_action*.py`:

- `runner`: the runner's file protocol (outputs, job summary, annotations) and the
  workflow context (event name, payload, pull request, release);
- `inputs`: the action inputs, read and checked from `MODELSEAL_INPUT_*`;
- `commands`: the `modelseal` command lines each input set turns into;
- `publish`: pushing signatures back in one commit, attaching them to a release;
- `steps`: the sign, verify, check, report and relay steps.
"""
