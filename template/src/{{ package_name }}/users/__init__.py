"""Users: the public model, the storage interface and its backend."""
