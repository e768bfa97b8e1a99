"""Reading models where pullers keep them: OCI layouts, Docker Model Runner, Hugging Face, Ollama.

Each reader turns a store entry into a `source.StoreModel`: the model's files named as
the signature names them, each pointing at the content-addressed blob that holds its
bytes (or at a tar layer whose members are the files). Blobs are re-hashed in place,
never copied and never trusted by name. `catalog` lists the stores (the `verify` and
`sign` store options are built from it); nothing else here is imported on the `check`
path, and a reader only when a model in its store is opened.
"""
