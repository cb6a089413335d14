//! Test tooling for Agusto WMS, never part of the product: an Apache
//! Cassandra 2.1 node on loopback ([`cassandra`]) and the CQL v4 ↔ v3 proxy
//! that lets the `scylla` driver talk to it ([`cql_proxy`]).
//!
//! `scripts/test-all` runs the `agusto-testbed cassandra` binary once for
//! the whole test run and exports `AGUSTO_TEST_SCYLLA` (the proxy's
//! address) to every test.

pub mod cassandra;
pub mod cql_proxy;
