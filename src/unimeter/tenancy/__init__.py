"""The tenancy kernel: environments, the keyring, account rows and their data version.

Bottom layer (beside ``db`` and ``kit``): the runtime, auth, the HTTP kit and the sync
engine all read it, and it imports none of them. Linking an account through a vendor
(validation, encryption, events) is ``accounts/``; this package only finds and counts rows.
"""
