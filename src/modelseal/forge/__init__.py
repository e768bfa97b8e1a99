"""Code forges: CI environment detection and the GitHub/GitLab comment APIs."""
