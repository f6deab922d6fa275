"""Accounts: the steps of logging in and of managing users, in one place.

Every way in (`/token`, `/revoke`, the password route, the command line) calls these and maps
their errors to its own answers; none of them throttles, verifies a password or ends sessions
on its own. This layer knows no wire format: it raises the errors of `accounts.errors`.
"""
