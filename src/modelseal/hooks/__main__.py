"""`python -I -m modelseal.hooks HOOK ...`: the entry of `.pre-commit-hooks.yaml`."""

from modelseal.hooks import main

raise SystemExit(main())
