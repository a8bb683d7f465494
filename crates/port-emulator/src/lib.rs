//! A local emulator of Port's REST API, backed by SQLite, so that tests, the demo and users
//! without a Port account have a Port-compatible endpoint on 127.0.0.1.
