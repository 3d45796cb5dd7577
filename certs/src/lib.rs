//! Certificates and TLS for every Hamn listener: the dev PKI (`hamn certs init`), server
//! certificates that reload from disk, client-certificate verification that enforces the
//! clientAuth EKU, and the TLS accept loop that serves an axum router.
