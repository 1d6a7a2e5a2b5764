"""The host side: key store, provisioning, challenges, verification, SLS policies, `slsbridge`."""
