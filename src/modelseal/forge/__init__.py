"""Code forges: the registry of forges (`forges`), their comment APIs over the one HTTP
client (`modelseal.net`), sticky comments, and the CI environment."""
