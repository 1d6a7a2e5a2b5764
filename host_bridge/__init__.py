"""The host side: key store, provisioning, challenges and verification, SLS policies, `slsbridge`."""
