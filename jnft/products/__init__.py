"""IGN/INSEE products: the catalog of product templates (`catalog/*.yaml`), the recognition of
a delivery folder's files against it, and the fiches and territory file written from what was
recognized (`jnft territory add`). Product-specific knowledge lives in the YAML, not here."""
