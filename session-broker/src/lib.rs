//! The session broker: tenants, environments, pools, hosts, apps, entitlements, the audit
//! log, the database, and the admin API that manages them.
