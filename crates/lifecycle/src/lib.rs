//! Ocean's runtime: startup, the resync engine, reconciliation, event listeners and the HTTP
//! server.
