"""Authentication: password hashing, access tokens, the `scope` parameter and the grants."""
