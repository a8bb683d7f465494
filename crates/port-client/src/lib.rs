//! A typed async client for Port's REST API: authentication, retries, integrations, entities,
//! blueprints and default resources. The only crate that knows Port's wire JSON.
