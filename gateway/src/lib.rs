//! The gateway: Hamn's TLS front door. Serves the portal and, later, browser session
//! streaming and the RD Gateway protocol.
