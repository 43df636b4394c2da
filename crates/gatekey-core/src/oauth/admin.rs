//! Registering and managing applications: client ids, secrets shown once, rotation with a grace period, and the service account link.
